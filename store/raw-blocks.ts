/**
 * The raw records of events, stored verbatim but compressed in blocks (one per collector
 * batch): audit records repeat themselves so much that a block of a hundred events
 * deflates to a tenth of its size at level 1, faster than SQLite writes the text
 * (bench/ingest). Reading an event inflates its block (0.3 ms for a thousand events); the
 * last few blocks read are kept, so evidence read in order inflates each block once.
 */

import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Store } from './store.js';

/** Where an event's records are: inline text, or a slice of a block's text. */
export interface RawRef {
  raw: string;
  raw_block: number | null;
  raw_at: number | null;
  raw_len: number | null;
}

/** The columns a query selects (table alias `e`) to read an event's records with eventRecords. */
export const RAW_COLUMNS = 'e.raw, e.raw_block, e.raw_at, e.raw_len';

const CACHED_BLOCKS = 8;
const cache = new WeakMap<Store, Map<number, string>>();

function blockText(store: Store, id: number): string {
  let blocks = cache.get(store);
  if (!blocks) cache.set(store, (blocks = new Map()));
  let text = blocks.get(id);
  if (text === undefined) {
    const row = store.statement('SELECT data FROM raw_block WHERE id = ?').get(id) as { data: Buffer } | undefined;
    // A block is removed only with its last event, so a missing one is damage, not a race.
    text = row ? inflateRawSync(row.data).toString('utf8') : '';
    if (blocks.size >= CACHED_BLOCKS) blocks.delete(blocks.keys().next().value as number);
    blocks.set(id, text);
  }
  return text;
}

/** An event's records as one text, lines separated by \n. */
export function eventRawText(store: Store, ref: RawRef): string {
  if (ref.raw_block === null) return ref.raw;
  return blockText(store, ref.raw_block).slice(ref.raw_at ?? 0, (ref.raw_at ?? 0) + (ref.raw_len ?? 0));
}

/** A block's data: `text` (events' records, events joined by \n) deflated. */
export function deflateRawBlock(text: string): Uint8Array {
  return deflateRawSync(Buffer.from(text, 'utf8'), { level: 1 });
}

/**
 * Store a block of `events` events; returns its id. Events point at it by where their
 * text starts in it and its length (UTF-16 units). Release those that were not stored
 * (already in the store) with releaseRawBlocks, in the same transaction.
 */
export function insertRawBlock(store: Store, events: number, data: Uint8Array): number {
  return Number(
    store.statement('INSERT INTO raw_block (events, data) VALUES (?, ?)').run(events, data).lastInsertRowid,
  );
}

/** Events pointing at blocks were removed (`removed`: block id → how many): drop blocks left with none. */
export function releaseRawBlocks(store: Store, removed: ReadonlyMap<number, number>): void {
  for (const [block, n] of removed) {
    store.statement('UPDATE raw_block SET events = events - ? WHERE id = ?').run(n, block);
    store.statement('DELETE FROM raw_block WHERE id = ? AND events <= 0').run(block);
    cache.get(store)?.delete(block);
  }
}
