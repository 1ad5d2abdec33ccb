/**
 * GET /v1/stream on the fleet's central server: denials as hosts ship them, attributed.
 * PostgreSQL's ids are not in commit order across hosts, so the resume point is a cursor
 * per host (the last local denial id sent of each), and each event's id is that cursor,
 * base64url JSON. A client that reconnects with Last-Event-ID, to this server or another
 * in front of the same database, gets what it missed and nothing twice. New rows are
 * looked for every `pollMs` (hosts ship in batches; there is no in-process notifier here).
 */

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { denialJson } from '../core/denial-json.js';
import type { FleetPool } from '../store/postgres/connect.js';
import { fleetDenialsAfter, fleetStreamStart } from '../store/postgres/fleet-reads.js';
import { decodeCursor, encodeCursor, MAX_CURSOR_CHARS, type StreamCursor } from '../store/postgres/stream-cursor.js';
import { streamEvents } from './event-stream.js';
import type { SlowClientGuard } from './slow-clients.js';

/** Denials read per host per page. */
const PAGE = 200;
function resumeCursor(request: FastifyRequest<{ Querystring: { lastEventId?: string } }>): StreamCursor | undefined {
  const header = request.headers['last-event-id'];
  const text = typeof header === 'string' && header.trim() !== '' ? header.trim() : request.query.lastEventId;
  return text === undefined ? undefined : decodeCursor(text);
}

export async function fleetStreamRoute(
  app: FastifyInstance,
  options: { pool: FleetPool; guard: SlowClientGuard; pollMs?: number },
): Promise<void> {
  app.get<{ Querystring: { lastEventId?: string } }>(
    '/v1/stream',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { lastEventId: { type: 'string', maxLength: MAX_CURSOR_CHARS } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const asked = resumeCursor(request);
      // Without a resume point, start from now: each host's shipped position.
      let cursor = asked ?? (await fleetStreamStart(options.pool));
      return streamEvents(request, reply, options.guard, {
        preface: ['svirt-audit fleet denial stream'],
        next: async () => {
          const { events, full, hosts } = await fleetDenialsAfter(options.pool, cursor, PAGE);
          // Only the fleet's hosts stay in the ids: names a client made up are not echoed back
          // in every event.
          cursor = new Map([...cursor].filter(([host]) => hosts.includes(host)));
          if (events.length === 0) return null;
          let text = '';
          for (const e of events) {
            cursor = new Map(cursor).set(e.host, e.localId);
            text += `id: ${encodeCursor(cursor)}\nevent: denial\ndata: ${JSON.stringify(denialJson(e.denial))}\n\n`;
          }
          return { text, more: full };
        },
        subscribe: (wake) => {
          const timer = setInterval(wake, options.pollMs ?? 1000);
          return () => clearInterval(timer);
        },
      });
    },
  );
}
