/**
 * Denials over time by kind, for the dashboard's charts: a window cut into equal buckets,
 * each counting the denials of each kind. Kinds come from attribution (core/denial-kind),
 * so the rows are read one at a time and classified, in constant memory.
 */

import type { Allocation } from '../core/allocation.js';
import type { Store } from './store.js';
import { iterateVmDenials } from './denial-query.js';
import { iterateDenialRows, SELECT_DENIALS, toAttributed } from './denial-rows.js';

export interface DenialHistogram {
  /** The window, ms since the epoch: [from, to). */
  from: number;
  to: number;
  bucketMs: number;
  /** Per kind (only kinds seen), one count per bucket, oldest first. */
  counts: Record<string, number[]>;
  total: number;
}

export function denialHistogram(
  store: Store,
  q: { from: number; to: number; buckets: number; vmUuid?: string; host?: string },
): DenialHistogram {
  const bucketMs = Math.max(1, Math.ceil((q.to - q.from) / q.buckets));
  const counts: Record<string, number[]> = {};
  let total = 0;
  const add = (time: number, kind: string) => {
    const i = Math.floor((time - q.from) / bucketMs);
    if (i < 0 || i >= q.buckets) return;
    const row = (counts[kind] ??= new Array<number>(q.buckets).fill(0));
    row[i] = (row[i] ?? 0) + 1;
    total++;
  };
  if (q.vmUuid !== undefined) {
    for (const d of iterateVmDenials(store, q.vmUuid, { since: q.from, until: q.to }))
      if (q.host === undefined || d.host === q.host) add(d.time, d.kind);
  } else {
    // A statement iterating is busy: an uncached one, so a page read meanwhile is not refused.
    const stmt = store.db.prepare(
      `${SELECT_DENIALS} WHERE d.time >= @from AND d.time < @to AND d.granted = 0
         AND (@host IS NULL OR h.name = @host)`,
    );
    const cache = new Map<number, Allocation>();
    for (const row of iterateDenialRows(stmt, { from: q.from, to: q.to, host: q.host ?? null })) {
      const d = toAttributed(store, row, cache);
      add(d.time, d.kind);
    }
  }
  return { from: q.from, to: q.to, bucketMs, counts, total };
}
