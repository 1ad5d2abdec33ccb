/**
 * GET /v1/stream: Server-Sent Events of denials as they are stored, attributed. Each event's
 * id is the denial id; a client that reconnects with Last-Event-ID gets what it missed
 * and nothing twice. The replay is read a page at a time with backpressure (api/event-stream.ts).
 */

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { denialJson } from '../../core/denial-json.js';
import { SvirtAuditError } from '../../core/errors.js';
import { denialsAfter, latestDenialId } from '../../store/denial-query.js';
import type { ApiContext } from '../context.js';
import { streamEvents } from '../event-stream.js';
import type { SlowClientGuard } from '../slow-clients.js';

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
      // Without a resume point, start from now: the stream is for what arrives. An id past
      // the newest (another database, or a forged one) also starts from now, and says so.
      let last = asked === undefined || asked > newest ? newest : asked;
      return streamEvents(request, reply, guard, {
        preface: [
          'svirt-audit denial stream',
          ...(asked !== undefined && asked > newest
            ? [`Last-Event-ID ${asked} is after the newest denial (${newest}): streaming from there`]
            : []),
        ],
        next: async () => {
          const batch = denialsAfter(ctx.store, last, PAGE);
          if (batch.length === 0) return null;
          let text = '';
          for (const d of batch) text += `id: ${d.id}\nevent: denial\ndata: ${JSON.stringify(denialJson(d))}\n\n`;
          last = (batch[batch.length - 1] as { id: number }).id;
          return { text, more: batch.length === PAGE };
        },
        subscribe: (wake) => ctx.notifier.onStored(wake),
      });
    },
  );
}
