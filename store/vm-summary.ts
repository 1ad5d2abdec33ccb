/** A VM's denials grouped by what was denied on what, with counts and first and last seen. */

import type { Allocation } from '../core/allocation.js';
import { listAllocations } from './allocations.js';
import type { Store } from './store.js';
import { allDenialRows, SELECT_DENIALS, toAttributed } from './denial-rows.js';
import { allocationLabelMatch } from './label-match.js';
import type { DenialFilter } from './denial-query.js';
import { type CountedGroup, SummaryGroups, type VmSummaryAnswer } from './summary-groups.js';

export type { SummaryGroup, VmSummaryAnswer } from './summary-groups.js';

/**
 * Which VM was denied what: the VM's denials grouped by (kind, class, permissions, target
 * type, path or target VM), most severe kinds first, then by count.
 *
 * Optimization: when the target carries no categories, the kind cannot depend on time,
 * so those denials are counted by GROUP BY over each allocation's index range; only
 * targets with categories (where cross-VM and stale labels live) are attributed one by one.
 */
export function summarizeVm(
  store: Store,
  uuid: string,
  name: string,
  filter: Omit<DenialFilter, 'vmUuid' | 'limit'> = {},
): VmSummaryAnswer {
  const groups = new SummaryGroups();
  const since = filter.since ?? 0;
  const until = filter.until ?? Number.MAX_SAFE_INTEGER;
  const granted = filter.includeGranted ? 1 : 0;
  for (const a of listAllocations(store, { uuid, ...(filter.host !== undefined && { host: filter.host }) })) {
    const from = Math.max(since, a.startedAt);
    const to = Math.min(until, a.endedAt ?? Number.MAX_SAFE_INTEGER);
    if (from >= to || (a.model === 'selinux' && a.categories === '') || a.model === 'none') continue;
    const params = { key: a.model === 'apparmor' ? a.label : a.categories, host: a.host, from, to, granted };
    const where = allocationLabelMatch(a.model === 'apparmor');
    // Counted by shape first: for SELinux an index-only scan of denial_by_source, then
    // one read per distinct shape.
    const rows = store
      .statement(
        `SELECT s.perms, s.tclass, s.ttype, COALESCE(s.tpath, s.tname, '?') AS target,
                sum(g.n) AS n, sum(g.permissive) AS permissive, min(g.first_seen) AS first_seen,
                max(g.last_seen) AS last_seen, min(g.example) AS example
         FROM (SELECT d.shape_id, count(*) AS n, sum(d.permissive) AS permissive, min(d.time) AS first_seen,
                      max(d.time) AS last_seen, min(d.id) AS example
               FROM denial_row d
               WHERE ${where} AND d.time >= @from AND d.time < @to AND (@granted = 1 OR d.granted = 0)
                 AND (d.tcategories IS NULL OR d.tcategories = '')
               GROUP BY d.shape_id) g
         JOIN denial_shape s ON s.id = g.shape_id
         GROUP BY s.perms, s.tclass, s.ttype, target`,
      )
      .all(params) as CountedGroup[];
    for (const r of rows) groups.addCounted(a, r);
    const labelled = allDenialRows(
      store.statement(
        `${SELECT_DENIALS} WHERE ${where} AND d.time >= @from AND d.time < @to AND (@granted = 1 OR d.granted = 0)
           AND d.tcategories IS NOT NULL AND d.tcategories <> ''`,
      ),
      params,
    );
    const cache = new Map<number, Allocation>([[a.id, a]]);
    for (const row of labelled) groups.addAttributed(toAttributed(store, row, cache), filter.kind);
  }
  return groups.answer(uuid, name, filter.kind);
}
