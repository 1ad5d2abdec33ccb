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
import { SvirtAuditError } from '../core/errors.js';
import type { FleetPool } from '../store/postgres/connect.js';
import { fleetDenialsAfter, fleetStreamStart, type StreamCursor } from '../store/postgres/fleet-reads.js';
import { streamEvents } from './event-stream.js';
import type { SlowClientGuard } from './slow-clients.js';

/** Denials read per host per page. */
const PAGE = 200;
const MAX_CURSOR_CHARS = 65_536;

export function encodeCursor(cursor: StreamCursor): string {
  return Buffer.from(JSON.stringify(Object.fromEntries(cursor))).toString('base64url');
}

/** A cursor a client sent back; anything else is refused, naming what was wrong. */
export function decodeCursor(text: string): StreamCursor {
  const bad = (why: string) =>
    new SvirtAuditError(
      'BAD_INPUT',
      `Last-Event-ID is not a fleet stream position: ${why}`,
      'send the id of the last event received, or no Last-Event-ID to start from now',
    );
  if (text.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad('not base64url of a bounded size');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('not an object of hosts');
  const cursor: StreamCursor = new Map();
  for (const [host, id] of Object.entries(value as Record<string, unknown>)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) throw bad(`${JSON.stringify(host).slice(0, 80)} has no id`);
    cursor.set(host, id as number);
  }
  return cursor;
}

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
          const { events, full } = await fleetDenialsAfter(options.pool, cursor, PAGE);
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
