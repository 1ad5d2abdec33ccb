/**
 * A Server-Sent Events response fed from a source of pages: the host's denial stream
 * (routes/stream.ts) and the fleet's (fleet-stream.ts) differ only in where the next page
 * comes from and how an event names its resume point. Pages are written with backpressure
 * (api/slow-clients.ts): a client that never reads holds one page in memory and is dropped
 * once it stalls past the bound, and other requests are answered between pages.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientKey } from './auth.js';
import { refuseTooMany, type SlowClientGuard } from './slow-clients.js';

const KEEPALIVE_MS = 15_000;

export interface EventPage {
  /** The page's events, as SSE text. */
  text: string;
  /** True when the source may hold more right now (read again at once). */
  more: boolean;
}

export interface EventSourceFeed {
  /** The next page after what was sent, or null when there is nothing new. */
  next(): Promise<EventPage | null>;
  /** Call `wake` when new events may exist; returns the unsubscribe. */
  subscribe(wake: () => void): () => void;
  /** Comment lines written first (what the stream is, where it resumes). */
  preface: string[];
}

/** Answer `request` with the stream of `feed`; refused with 429 past the guard's bound. */
export function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  guard: SlowClientGuard,
  feed: EventSourceFeed,
): FastifyReply | undefined {
  const release = guard.tryOpen(clientKey(request), reply.raw);
  if (!release) return refuseTooMany(reply, guard);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  for (const line of feed.preface) res.write(`: ${line}\n\n`);

  let sending = false;
  let again = false;
  const send = async () => {
    if (sending) {
      again = true; // the running loop reads again before it stops
      return;
    }
    sending = true;
    try {
      do {
        again = false;
        for (;;) {
          if (res.destroyed) return;
          const page = await feed.next();
          if (page === null) break;
          if (page.text !== '' && !(await guard.write(res, page.text))) return;
          if (!page.more) break;
          await nextTurn(); // other requests in between pages
        }
      } while (again);
    } catch (error) {
      request.log.error({ err: error }, 'the event stream failed');
      res.destroy();
    } finally {
      sending = false;
    }
  };
  void send();
  const unsubscribe = feed.subscribe(() => void send());
  const keepalive = setInterval(() => {
    // A client that reads nothing gets no more keepalives queued (send() drops it on its bound).
    if (res.writableLength === 0) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  res.on('close', () => {
    unsubscribe();
    clearInterval(keepalive);
    release();
  });
  return undefined;
}
