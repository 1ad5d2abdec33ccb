/**
 * `serve --syslog DEST`: one RFC 5424 message per denial (core/syslog-message.ts), in the
 * order they were stored. The position (the last denial sent) is kept in the store and
 * moved after each batch was handed to the kernel, so a restart or a syslog server down
 * for a while resumes where it stopped; a batch in flight when the connection broke is
 * sent again (a receiver may see a message twice, never miss one that was stored). The
 * first run starts after the denials stored before serve started (`export` sends history).
 */

import { doublingDelay } from '../core/back-off.js';
import { denialJson } from '../core/denial-json.js';
import { denialSyslog } from '../core/syslog-message.js';
import { feedPosition, saveFeedPosition, startFeed } from '../store/feed-positions.js';
import { denialsAfter, latestDenialId } from '../store/denial-query.js';
import type { Store } from '../store/store.js';
import { describeSyslogDestination, type SyslogDestination } from './syslog-destination.js';
import { openSyslogTransport, type SyslogTransport } from './syslog-transport.js';

export const SYSLOG_FEED = 'syslog';
const BATCH = 500;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export interface SyslogStatus {
  destination: string;
  /** Messages sent since start. */
  forwarded: number;
  /** Denials stored and not sent yet. */
  behind: number;
  /** Consecutive failed attempts (0 when the last worked). */
  failures: number;
  lastError: string | null;
}

export interface SyslogForwarderOptions {
  destination: SyslogDestination;
  /** Where the first run starts (the newest denial id when serve started; default the newest now). */
  firstPosition?: number;
  /** How often to look for denials stored by other processes (ms). */
  pollMs?: number;
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

export class SyslogForwarder {
  readonly #store: Store;
  readonly #options: SyslogForwarderOptions;
  readonly #transport: SyslogTransport;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #started = false;
  #stopped = false;
  #forwarded = 0;
  #failures = 0;
  #retryAt = 0;
  #lastError: string | null = null;

  constructor(store: Store, options: SyslogForwarderOptions) {
    this.#store = store;
    this.#options = options;
    this.#transport = openSyslogTransport(options.destination);
  }

  start(): void {
    if (feedPosition(this.#store, SYSLOG_FEED) === null)
      this.#store.immediate(() => startFeed(this.#store, SYSLOG_FEED, this.#options.firstPosition));
    this.#started = true;
    this.#timer = setInterval(() => this.nudge(), this.#options.pollMs ?? 1000);
    this.nudge();
  }

  /** New denials were stored: send them (one pass at a time; a nudge meanwhile runs another). */
  nudge(): void {
    // Before start() the first position is not set: a pass would send the whole store.
    if (!this.#started || this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass()
      // The database busy or failing: the position is unchanged and the next tick tries again.
      .catch((error: unknown) => this.#options.onWarning?.('syslog messages not sent; trying again', { err: error }))
      .finally(() => {
        this.#running = undefined;
        if (this.#again && !this.#stopped) {
          this.#again = false;
          this.nudge();
        }
      });
  }

  async #pass(): Promise<void> {
    if (Date.now() < this.#retryAt) return;
    for (;;) {
      const position = feedPosition(this.#store, SYSLOG_FEED) ?? 0;
      const batch = denialsAfter(this.#store, position, BATCH);
      if (batch.length === 0) return;
      try {
        await this.#transport.send(batch.map((d) => denialSyslog(denialJson(d), { procId: process.pid })));
      } catch (error) {
        this.#failures++;
        this.#lastError = (error as Error).message;
        this.#retryAt = Date.now() + doublingDelay(this.#failures, FIRST_RETRY_MS, MAX_RETRY_MS);
        if (this.#failures === 1)
          this.#options.onWarning?.('syslog messages not sent; retrying', {
            syslog: describeSyslogDestination(this.#options.destination),
            err: this.#lastError,
          });
        return;
      }
      saveFeedPosition(this.#store, SYSLOG_FEED, (batch[batch.length - 1] as { id: number }).id);
      this.#forwarded += batch.length;
      this.#failures = 0;
      this.#lastError = null;
      if (this.#stopped || batch.length < BATCH) return;
    }
  }

  status(): SyslogStatus {
    const position = feedPosition(this.#store, SYSLOG_FEED) ?? 0;
    return {
      destination: describeSyslogDestination(this.#options.destination),
      forwarded: this.#forwarded,
      behind: Math.max(0, latestDenialId(this.#store) - position),
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  /** Send what is stored (one last pass), then close the connection. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    // One last pass, unless the server is in its back-off (then the next start sends it).
    if (this.#started && !this.#stopped) {
      this.#stopped = true;
      await this.#pass();
    }
    this.#transport.close();
  }
}
