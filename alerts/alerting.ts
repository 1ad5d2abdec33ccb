/**
 * Alerts in `serve`: new denials go into the outbox as they are stored (alert-evaluator.ts)
 * and each receiver is sent its due alerts oldest first, one at a time, with retries doubling
 * from `retry.first` to `retry.max` until `retry.giveUp` after the alert became due. A
 * receiver that is down for an hour gets its alerts when it returns, and a restart of
 * serve resumes from the outbox. One slow receiver delays only its own deliveries.
 */

import { alertmanagerPayload, slackPayload, webhookPayload } from '../core/alert-payloads.js';
import type { AlertRules, ReceiverConfig } from '../core/alert-rules.js';
import { retryDelay } from '../core/alert-rules.js';
import {
  type AlertRow,
  alertJson,
  deliveryCounts,
  dueDeliveries,
  markAttemptFailed,
  markDelivered,
  nextAlertDue,
} from '../store/alert-outbox.js';
import type { Store } from '../store/store.js';
import { evaluateAlerts } from './alert-evaluator.js';
import { postJson } from './receiver-request.js';

export interface AlertingOptions {
  version: string;
  /** How often due alerts and retries are looked for without new denials (ms). */
  tickMs?: number;
  /** Where the first run starts (the newest denial id when serve started; default the newest now). */
  firstPosition?: number;
  /** How long a receiver has to answer one request (default 10 s). */
  requestTimeoutMs?: number;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
  /** Each alert sent (tests and the log). */
  onSent?: (receiver: string, key: string) => void;
}

export interface AlertingStatus {
  pending: number;
  failed: number;
  sent: number;
}

/** Where and what a receiver is sent. */
function requestFor(receiver: ReceiverConfig, a: AlertRow, rules: AlertRules): { url: string; body: unknown } {
  const json = alertJson(a, rules.linkBase);
  switch (receiver.type) {
    case 'alertmanager': {
      const url = new URL(receiver.url);
      if (!url.pathname.endsWith('/api/v2/alerts')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
      return { url: url.toString(), body: alertmanagerPayload(json, rules.windowMs, Date.now()) };
    }
    case 'slack':
      return { url: receiver.url, body: slackPayload(json) };
    case 'webhook':
      return { url: receiver.url, body: webhookPayload(json) };
  }
}

export class Alerting {
  readonly #store: Store;
  #rules: AlertRules;
  readonly #options: AlertingOptions;
  readonly #sending = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  /** Wakes the evaluation when the soonest waiting alert is due, rather than at the next tick. */
  #dueTimer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  constructor(store: Store, rules: AlertRules, options: AlertingOptions) {
    this.#store = store;
    this.#rules = rules;
    this.#options = options;
  }

  start(): void {
    this.#started = true;
    this.#timer = setInterval(() => this.nudge(), this.#options.tickMs ?? 1000);
    this.nudge();
  }

  /** New denials were stored, or time passed: evaluate and send what is due. */
  nudge(): void {
    if (!this.#started || this.#stopped) return;
    try {
      evaluateAlerts(this.#store, this.#rules, Date.now(), {
        ...(this.#options.firstPosition !== undefined && { firstPosition: this.#options.firstPosition }),
      });
      const due = nextAlertDue(this.#store);
      clearTimeout(this.#dueTimer);
      if (due !== null) this.#dueTimer = setTimeout(() => this.nudge(), Math.max(0, due - Date.now()));
    } catch (error) {
      // The database busy or full: the next tick tries again from the same position.
      this.#options.onWarning?.('alerts not evaluated; trying again', { err: error });
    }
    for (const receiver of this.#rules.receivers)
      if (!this.#sending.has(receiver.name)) {
        const run = this.#send(receiver)
          // The database busy or failing: the outbox is unchanged and the next tick tries again.
          .catch((error: unknown) => this.#options.onWarning?.('alerts not sent; trying again', { err: error }))
          .finally(() => this.#sending.delete(receiver.name));
        this.#sending.set(receiver.name, run);
      }
  }

  async #send(receiver: ReceiverConfig): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const [next] = dueDeliveries(this.#store, receiver.name, Date.now(), 1);
      if (!next) return;
      const { url, body } = requestFor(receiver, next.alert, this.#rules);
      const result = await postJson(
        url,
        body,
        {
          ...receiver.headers,
          'idempotency-key': next.alert.key,
          'user-agent': `svirt-audit/${this.#options.version}`,
        },
        this.#options.requestTimeoutMs,
      );
      const now = Date.now();
      if (result.ok) {
        markDelivered(this.#store, next.alert.id, receiver.name, now);
        this.#options.onSent?.(receiver.name, next.alert.key);
        continue;
      }
      const attempt = next.attempts + 1;
      const giveUp = !result.retryable || now - (next.alert.dueAt ?? now) >= this.#rules.retry.giveUpMs;
      markAttemptFailed(
        this.#store,
        next.alert.id,
        receiver.name,
        result.error ?? 'failed',
        giveUp ? null : now + retryDelay(this.#rules, attempt),
      );
      this.#options.onWarning?.(giveUp ? 'alert not sent; given up' : 'alert not sent; will retry', {
        receiver: receiver.name,
        alert: next.alert.key,
        attempt,
        error: result.error,
      });
      // The receiver is failing: its other alerts wait for the next tick, not a tight loop.
      return;
    }
  }

  /**
   * New rules and receivers (SIGHUP): alerts not yet due follow them; a delivery already
   * owed to a receiver that is no longer configured stays pending (listed by `alerts`).
   */
  setRules(rules: AlertRules): void {
    this.#rules = rules;
    this.nudge();
  }

  status(): AlertingStatus {
    return deliveryCounts(this.#store);
  }

  /** Stop evaluating; a send in flight finishes (its result is recorded). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#dueTimer);
    await Promise.all(this.#sending.values());
  }
}
