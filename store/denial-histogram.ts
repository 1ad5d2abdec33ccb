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

/** Counts denials into the buckets of a window, whatever reads them (SQLite here, the fleet's PostgreSQL). */
export class HistogramCounter {
  readonly #from: number;
  readonly #to: number;
  readonly #buckets: number;
  readonly #bucketMs: number;
  readonly #counts: Record<string, number[]> = {};
  #total = 0;

  constructor(window: { from: number; to: number; buckets: number }) {
    this.#from = window.from;
    this.#to = window.to;
    this.#buckets = window.buckets;
    this.#bucketMs = Math.max(1, Math.ceil((window.to - window.from) / window.buckets));
  }

  add(time: number, kind: string): void {
    const i = Math.floor((time - this.#from) / this.#bucketMs);
    if (i < 0 || i >= this.#buckets) return;
    const row = (this.#counts[kind] ??= new Array<number>(this.#buckets).fill(0));
    row[i] = (row[i] ?? 0) + 1;
    this.#total++;
  }

  result(): DenialHistogram {
    return { from: this.#from, to: this.#to, bucketMs: this.#bucketMs, counts: this.#counts, total: this.#total };
  }
}

export function denialHistogram(
  store: Store,
  q: { from: number; to: number; buckets: number; vmUuid?: string; host?: string },
): DenialHistogram {
  const counter = new HistogramCounter(q);
  if (q.vmUuid !== undefined) {
    for (const d of iterateVmDenials(store, q.vmUuid, { since: q.from, until: q.to }))
      if (q.host === undefined || d.host === q.host) counter.add(d.time, d.kind);
  } else {
    // A statement iterating is busy: an uncached one, so a page read meanwhile is not refused.
    const stmt = store.db.prepare(
      `${SELECT_DENIALS} WHERE d.time >= @from AND d.time < @to AND d.granted = 0
         AND (@host IS NULL OR h.name = @host)`,
    );
    const cache = new Map<number, Allocation>();
    for (const row of iterateDenialRows(stmt, { from: q.from, to: q.to, host: q.host ?? null })) {
      const d = toAttributed(store, row, cache);
      counter.add(d.time, d.kind);
    }
  }
  return counter.result();
}
