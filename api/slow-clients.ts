/**
 * What keeps one reader from stalling the service: long answers (the denial stream, reports)
 * are written with backpressure, a client that stops reading is dropped after a bound, and
 * the number of such answers open at once is limited per client and in all.
 *
 * A dropped stream loses nothing: the client resumes with `Last-Event-ID`; a dropped report
 * is asked for again. A drop resets the connection, so the kernel lets go of what it still
 * queues for that client at once.
 */

import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { errorBody } from './errors.js';

export interface SlowClientLimits {
  /** A client that has not read for this long while we wait to write is dropped (ms). */
  stallMs: number;
  /** Bytes queued for one client beyond which it is dropped, whatever the time. */
  maxBufferedBytes: number;
  /** Streams and reports open at once from one client (its token, else its address). */
  perClient: number;
  /** Streams and reports open at once in all. */
  total: number;
}

export const DEFAULT_SLOW_CLIENT_LIMITS: SlowClientLimits = {
  stallMs: 30_000,
  maxBufferedBytes: 4 << 20,
  perClient: 4,
  total: 64,
};

export class SlowClientGuard {
  readonly limits: SlowClientLimits;
  readonly #onDrop: () => void;
  readonly #perClient = new Map<string, number>();
  /** The responses of the long answers open now: ended when the server closes. */
  readonly #answers = new Set<ServerResponse>();
  #open = 0;

  constructor(limits: SlowClientLimits, onDrop: () => void = () => undefined) {
    this.limits = limits;
    this.#onDrop = onDrop;
  }

  /** Long answers open now. */
  get open(): number {
    return this.#open;
  }

  /**
   * A release function for the long answer `res` of `client`, or undefined when the client
   * or the server is at its limit.
   */
  tryOpen(client: string, res: ServerResponse): (() => void) | undefined {
    const mine = this.#perClient.get(client) ?? 0;
    if (mine >= this.limits.perClient || this.#open >= this.limits.total) return undefined;
    this.#perClient.set(client, mine + 1);
    this.#open++;
    this.#answers.add(res);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#answers.delete(res);
      this.#open--;
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.#perClient.delete(client);
      else this.#perClient.set(client, left);
    };
  }

  /**
   * Write `text` and, when the socket's buffer is full, wait until the client has read it.
   * Resolves false when the client is gone or was dropped (stalled past the bound, or over
   * the byte bound): the caller stops producing.
   */
  async write(res: ServerResponse, text: string): Promise<boolean> {
    if (res.destroyed || res.writableEnded) return false;
    if (res.write(text)) return true;
    if (res.writableLength > this.limits.maxBufferedBytes) {
      this.#drop(res);
      return false;
    }
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        res.off('drain', onDrain);
        res.off('close', onClose);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = setTimeout(() => {
        done(false);
        this.#drop(res);
      }, this.limits.stallMs);
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
  }

  /**
   * Cut every long answer still open: the server is stopping, and a stream never ends by
   * itself (without this, `serve` waited on an open dashboard or `curl` of /v1/stream until
   * systemd killed it). A stream's client resumes with Last-Event-ID; a report cut short
   * fails at the client, not silently.
   */
  closeAll(): void {
    for (const res of this.#answers) res.destroy();
  }

  #drop(res: ServerResponse): void {
    this.#onDrop();
    const socket = res.socket;
    if (socket && !socket.destroyed) socket.resetAndDestroy();
    else res.destroy();
  }
}

/** Refuse a client (or every client) past the limit of open streams and reports. */
export function refuseTooMany(reply: FastifyReply, { limits }: SlowClientGuard): FastifyReply {
  return reply
    .code(429)
    .send(
      errorBody(
        'TOO_MANY_STREAMS',
        `at most ${limits.perClient} streams and reports are open per client, ${limits.total} in all`,
        'close one, or retry later',
      ),
    );
}
