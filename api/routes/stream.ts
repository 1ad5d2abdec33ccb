/**
 * GET /v1/stream: Server-Sent Events of denials as they are stored, attributed. Each event's
 * id is the denial id; a client that reconnects with Last-Event-ID gets what it missed
 * and nothing twice.
 *
 * The replay is read a page at a time and written with backpressure (api/slow-clients.ts):
 * a client that asks for everything since id 0 and never reads holds one page in memory,
 * is dropped once it stalls past the bound, and other requests are answered meanwhile.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { denialJson } from '../../core/denial-json.js';
import { SvirtAuditError } from '../../core/errors.js';
import { denialsAfter, latestDenialId } from '../../store/denial-query.js';
import { clientKey } from '../auth.js';
import type { ApiContext } from '../context.js';
import { refuseTooMany, type SlowClientGuard } from '../slow-clients.js';

const KEEPALIVE_MS = 15_000;
/** Denials read and written per turn of the event loop. */
const PAGE = 200;

export interface StreamRouteOptions {
  ctx: ApiContext;
  guard: SlowClientGuard;
}

/** The resume point a client sent (header first, then the query); undefined: from now. */
function resumePoint(request: FastifyRequest<{ Querystring: { lastEventId?: number } }>): number | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') {
    if (!/^\d+$/.test(header.trim()) || !Number.isSafeInteger(Number(header)))
      throw new SvirtAuditError(
        'BAD_INPUT',
        `Last-Event-ID ${JSON.stringify(header.slice(0, 40))} is not a denial id`,
        'send the id of the last event received, or no Last-Event-ID to start from now',
      );
    return Number(header);
  }
  return request.query.lastEventId;
}

export async function streamRoutes(app: FastifyInstance, { ctx, guard }: StreamRouteOptions): Promise<void> {
  app.get<{ Querystring: { lastEventId?: number } }>(
    '/v1/stream',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { lastEventId: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const asked = resumePoint(request);
      const newest = latestDenialId(ctx.store);
      const release = guard.tryOpen(clientKey(request));
      if (!release) return refuseTooMany(reply, guard);
      // Without a resume point, start from now: the stream is for what arrives. An id past
      // the newest (another database, or a forged one) also starts from now, and says so.
      let last = asked === undefined || asked > newest ? newest : asked;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': svirt-audit denial stream\n\n');
      if (asked !== undefined && asked > newest)
        res.write(`: Last-Event-ID ${asked} is after the newest denial (${newest}): streaming from there\n\n`);

      let sending = false;
      let more = false;
      const send = async () => {
        if (sending) {
          more = true; // the running loop reads again before it stops
          return;
        }
        sending = true;
        try {
          do {
            more = false;
            for (;;) {
              if (res.destroyed) return;
              const batch = denialsAfter(ctx.store, last, PAGE);
              if (batch.length === 0) break;
              let text = '';
              for (const d of batch) text += `id: ${d.id}\nevent: denial\ndata: ${JSON.stringify(denialJson(d))}\n\n`;
              last = (batch[batch.length - 1] as { id: number }).id;
              if (!(await guard.write(res, text))) return;
              if (batch.length < PAGE) break;
              await nextTurn(); // other requests in between pages
            }
          } while (more);
        } catch (error) {
          request.log.error({ err: error }, 'the denial stream failed');
          res.destroy();
        } finally {
          sending = false;
        }
      };
      void send();
      const unsubscribe = ctx.notifier.onStored(() => void send());
      const keepalive = setInterval(() => {
        // A client that reads nothing gets no more keepalives queued (send() drops it on its bound).
        if (res.writableLength === 0) res.write(': keepalive\n\n');
      }, KEEPALIVE_MS);
      res.on('close', () => {
        unsubscribe();
        clearInterval(keepalive);
        release();
      });
    },
  );
}
