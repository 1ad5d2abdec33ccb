/**
 * serve's standing retention: every interval, read how much of its bound the store uses;
 * prune by age every ten minutes, and by size as soon as the store passes 90% of the
 * bound; warn (once an hour at most) from 80% on. One run at a time, each step a short
 * transaction with the event loop free in between (the collector's batches go on).
 */

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { formatSize } from '../core/size-spec.js';
import { storeUsage } from '../store/retention.js';
import type { Store } from '../store/store.js';
import { applyRetention, type PruneOutcome, type RetentionPolicy, SIZE_WARNING } from './policy.js';

export interface RetentionStatus {
  usedBytes: number;
  fileBytes: number;
  maxBytes: number | null;
  prunedDenials: number;
  prunedEvents: number;
  lastRunAt: number | null;
}

export interface RetentionRunnerOptions {
  policy: RetentionPolicy;
  /** How often usage is checked (default 30 s). */
  checkIntervalMs?: number;
  /** How often the age limit is applied (default 10 min). */
  ageIntervalMs?: number;
  log: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

const WARN_EVERY_MS = 3_600_000;
const STOPPED = new Error('serve is stopping');

export class RetentionRunner {
  readonly #store: Store;
  readonly #options: RetentionRunnerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #lastAgeRun = 0;
  #lastWarning = 0;
  #stopping = false;
  readonly status: RetentionStatus;

  constructor(store: Store, options: RetentionRunnerOptions) {
    this.#store = store;
    this.#options = options;
    const usage = storeUsage(store);
    this.status = {
      usedBytes: usage.usedBytes,
      fileBytes: usage.fileBytes,
      maxBytes: options.policy.maxBytes,
      prunedDenials: 0,
      prunedEvents: 0,
      lastRunAt: null,
    };
  }

  start(): void {
    this.check();
    this.#timer = setInterval(() => this.check(), this.#options.checkIntervalMs ?? 30_000);
    this.#timer.unref();
  }

  /** Check now (and prune if due); resolves when a run it started has finished. */
  check(now: number = Date.now()): Promise<void> {
    if (this.#running) return this.#running;
    const { policy } = this.#options;
    const usage = storeUsage(this.#store);
    Object.assign(this.status, { usedBytes: usage.usedBytes, fileBytes: usage.fileBytes });
    const max = policy.maxBytes;
    const bySize = max !== null && usage.usedBytes > max * 0.9;
    const byAge = now - this.#lastAgeRun >= (this.#options.ageIntervalMs ?? 600_000);
    if (max !== null && usage.usedBytes > max * SIZE_WARNING) this.#warn(now, usage.usedBytes, max);
    if (!bySize && !byAge) return Promise.resolve();
    this.#lastAgeRun = now;
    const pause = async () => {
      if (this.#stopping) throw STOPPED;
      await yieldToEventLoop();
    };
    this.#running = applyRetention(this.#store, policy, { now, reason: bySize ? 'size bound' : 'age', pause })
      .then((outcome) => this.#done(outcome))
      .catch((error: unknown) => {
        if (error !== STOPPED) this.#options.log.warn({ err: error }, 'pruning failed; retrying at the next check');
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  #done(o: PruneOutcome): void {
    const usage = storeUsage(this.#store);
    Object.assign(this.status, {
      usedBytes: usage.usedBytes,
      fileBytes: usage.fileBytes,
      prunedDenials: this.status.prunedDenials + o.denials,
      prunedEvents: this.status.prunedEvents + o.events,
      lastRunAt: Date.now(),
    });
    if (o.denials + o.events + o.allocations > 0)
      this.#options.log.info(
        { denials: o.denials, events: o.events, allocations: o.allocations, held: o.held, shrunkBytes: o.shrunkBytes },
        `pruned records older than ${o.reached === null ? '-' : new Date(o.reached).toISOString()}`,
      );
    if (o.overBound)
      this.#options.log.warn(
        { usedBytes: o.usedBytesAfter, maxBytes: this.#options.policy.maxBytes },
        'the store is above its bound and what is left is under holds: release holds (svirt-audit hold --list) or raise --max-size',
      );
  }

  #warn(now: number, used: number, max: number): void {
    if (now - this.#lastWarning < WARN_EVERY_MS) return;
    this.#lastWarning = now;
    this.#options.log.warn(
      { usedBytes: used, maxBytes: max },
      `the store uses ${formatSize(used)} of its ${formatSize(max)} bound; the oldest records are removed from 90% on`,
    );
  }

  /** Stop checking; a run in progress ends after its current step (what it removed stays removed). */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }
}
