/**
 * GET /v1/stream: Server-Sent Events of denials as they are stored, attributed. Each event's
 * id is the denial id; a client that reconnects with Last-Event-ID gets what it missed
 * and nothing twice.
 */

import type { FastifyInstance } from 'fastify';
import { denialJson } from '../../core/denial-json.js';
import { denialsAfter, latestDenialId } from '../../store/denial-query.js';
import type { ApiContext } from '../context.js';

const KEEPALIVE_MS = 15_000;

export async function streamRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get<{ Querystring: { lastEventId?: number } }>(
    '/v1/stream',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { lastEventId: { type: 'integer', minimum: 0 } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const header = request.headers['last-event-id'];
      const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
      // Without a resume point, start from now: the stream is for what arrives.
      let last = fromHeader ?? request.query.lastEventId ?? latestDenialId(ctx.store);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': svirt-audit denial stream\n\n');
      let sending = false;
      const send = () => {
        if (sending || res.destroyed) return;
        sending = true;
        try {
          for (;;) {
            const batch = denialsAfter(ctx.store, last, 500);
            for (const d of batch) {
              res.write(`id: ${d.id}\nevent: denial\ndata: ${JSON.stringify(denialJson(d))}\n\n`);
              last = d.id;
            }
            if (batch.length < 500) break;
          }
        } finally {
          sending = false;
        }
      };
      send();
      const unsubscribe = ctx.notifier.onStored(send);
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      request.raw.on('close', () => {
        unsubscribe();
        clearInterval(keepalive);
      });
    },
  );
}
