/**
 * A position in the fleet's denials: per host, the last local denial id handled. Hosts
 * store and ship their denials in local id order, each batch in one transaction, so
 * "after this id on this host" is exact; PostgreSQL's own ids are not in commit order
 * across hosts. Written as base64url JSON where a client keeps it (an SSE event id, an
 * `export --position` file) and refused with the reason when it is anything else.
 */

import { SvirtAuditError } from '../../core/errors.js';

export type StreamCursor = Map<string, number>;

export const MAX_CURSOR_CHARS = 65_536;

export function encodeCursor(cursor: StreamCursor): string {
  return Buffer.from(JSON.stringify(Object.fromEntries(cursor))).toString('base64url');
}

/** A cursor a client sent back (`from` names where it came from); anything else is refused with why. */
export function decodeCursor(
  text: string,
  from: { what: string; hint: string } = {
    what: 'Last-Event-ID',
    hint: 'send the id of the last event received, or no Last-Event-ID to start from now',
  },
): StreamCursor {
  const bad = (why: string) =>
    new SvirtAuditError('BAD_INPUT', `${from.what} is not a fleet stream position: ${why}`, from.hint);
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
