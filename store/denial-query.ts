/** The answers' listing of denials, shared by the CLI and the API (store/denial-rows.ts says how a row is attributed). */

import type { Allocation } from '../core/allocation.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import type { DenialKind } from '../core/denial-kind.js';
import type { Store } from './store.js';
import {
  allDenialRows,
  type DenialTuple,
  iterateDenialRows,
  newestFirst,
  rowTime,
  SELECT_DENIALS,
  SELECT_DENIALS_OF_ALLOCATION,
  toAttributed,
} from './denial-rows.js';
import { allocationLabelMatch } from './label-match.js';
import { vmDenialRanges } from './vm-denial-ranges.js';

/** The filters of `queryDenials` that are not index ranges, as SQL over the same parameters. */
const RESIDUAL_FILTERS = `(@granted = 1 OR d.granted = 0)
  AND (@tclass IS NULL OR d.tclass = @tclass)
  AND (@perm IS NULL OR instr(' ' || d.perms || ' ', ' ' || @perm || ' ') > 0)
  AND (@permissive IS NULL OR d.permissive = @permissive)
  AND (@beforeTime IS NULL OR d.time < @beforeTime OR (d.time = @beforeTime AND d.id < @beforeId))`;

export interface DenialFilter {
  /** Only denials whose source is this VM (uuid). */
  vmUuid?: string;
  host?: string;
  since?: number;
  until?: number;
  kind?: DenialKind;
  limit?: number;
  /** Include `avc: granted` (auditallow) records, which are not denials. */
  includeGranted?: boolean;
  tclass?: string;
  /** Only denials whose permissions include this one. */
  perm?: string;
  permissive?: boolean;
  /** Keyset pagination: only denials older than this (time, then id), as `next` returned. */
  before?: { time: number; id: number };
}

/** Attributed denials, newest first. */
export function queryDenials(store: Store, filter: DenialFilter = {}): AttributedDenial[] {
  const allocations = new Map<number, Allocation>();
  const since = filter.since ?? 0;
  const until = filter.until ?? Number.MAX_SAFE_INTEGER;
  let rows: DenialTuple[];
  // A kind filter is applied after classification, so the SQL limit cannot be used then.
  const sqlLimit = filter.kind === undefined ? (filter.limit ?? -1) : -1;
  const residual = {
    granted: filter.includeGranted ? 1 : 0,
    tclass: filter.tclass ?? null,
    perm: filter.perm ?? null,
    permissive: filter.permissive === undefined ? null : filter.permissive ? 1 : 0,
    beforeTime: filter.before?.time ?? null,
    beforeId: filter.before?.id ?? null,
    limit: sqlLimit,
  };
  if (filter.vmUuid !== undefined) {
    // One indexed range scan per allocation of the VM (denial_by_source or denial_by_profile),
    // newest ranges first, each cut at the page size; once a page is full, an allocation
    // whose range ends before the page's oldest denial cannot contribute and stops the walk.
    rows = [];
    const ranges = vmDenialRanges(store, filter.vmUuid, {
      since,
      until,
      ...(filter.host !== undefined && { host: filter.host }),
    }).sort((x, y) => y.to - x.to);
    for (const { allocation: a, from, to } of ranges) {
      if (sqlLimit >= 0 && rows.length >= sqlLimit) {
        rows.sort(newestFirst).length = sqlLimit;
        if (to <= rowTime(rows[sqlLimit - 1] as DenialTuple)) break;
      }
      const hit = allDenialRows(
        store.statement(
          `${SELECT_DENIALS_OF_ALLOCATION} WHERE ${allocationLabelMatch(a.model === 'apparmor')}
             AND d.time >= @from AND d.time < @to AND ${RESIDUAL_FILTERS}
           ORDER BY d.time DESC, d.id DESC LIMIT @limit`,
        ),
        {
          ...residual,
          allocation: a.id,
          key: a.model === 'apparmor' ? a.label : a.categories,
          host: a.host,
          from,
          to,
        },
      );
      allocations.set(a.id, a);
      rows.push(...hit);
    }
    rows.sort(newestFirst);
  } else {
    rows = allDenialRows(
      store.statement(
        `${SELECT_DENIALS}
         WHERE d.time >= @since AND d.time < @until AND (@host IS NULL OR h.name = @host) AND ${RESIDUAL_FILTERS}
         ORDER BY d.time DESC, d.id DESC
         LIMIT @limit`,
      ),
      { ...residual, since, until, host: filter.host ?? null },
    );
  }
  const out: AttributedDenial[] = [];
  for (const row of rows) {
    const d = toAttributed(store, row, allocations);
    if (filter.kind !== undefined && d.kind !== filter.kind) continue;
    out.push(d);
    if (filter.limit !== undefined && out.length >= filter.limit) break;
  }
  return out;
}

/**
 * A VM's denials in a window, oldest first, one at a time (constant memory: reports over
 * 100,000 denials stream them). Ordered by allocation, then time and id.
 */
export function* iterateVmDenials(
  store: Store,
  uuid: string,
  window: { since?: number; until?: number } = {},
): Generator<AttributedDenial> {
  for (const r of vmDenialRanges(store, uuid, window)) {
    // A statement iterating is busy: use an uncached one so two iterations can nest.
    const stmt = store.db.prepare(
      `${SELECT_DENIALS_OF_ALLOCATION} WHERE ${allocationLabelMatch(r.apparmor)}
         AND d.time >= @from AND d.time < @to AND d.granted = 0 ORDER BY d.time, d.id`,
    );
    const cache = new Map<number, Allocation>([[r.allocation.id, r.allocation]]);
    const params = { allocation: r.allocation.id, key: r.key, host: r.host, from: r.from, to: r.to };
    for (const row of iterateDenialRows(stmt, params)) yield toAttributed(store, row, cache);
  }
}

/** One denial by id, attributed. */
export function getDenial(store: Store, id: number): AttributedDenial | undefined {
  const [row] = allDenialRows(store.statement(`${SELECT_DENIALS} WHERE d.id = ?`), id);
  return row && toAttributed(store, row, new Map());
}

/** The newest denial id (for live streams: what has been stored since). */
export function latestDenialId(store: Store): number {
  return (store.statement('SELECT COALESCE(max(id), 0) AS id FROM denial_row').get() as { id: number }).id;
}

/** Denials stored after `afterId`, oldest first, attributed (the live stream's feed). */
export function denialsAfter(store: Store, afterId: number, limit = 1000): AttributedDenial[] {
  const rows = allDenialRows(
    store.statement(`${SELECT_DENIALS} WHERE d.id > ? AND d.granted = 0 ORDER BY d.id LIMIT ?`),
    afterId,
    limit,
  );
  const cache = new Map<number, Allocation>();
  return rows.map((r) => toAttributed(store, r, cache));
}
