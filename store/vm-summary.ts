/** A VM's denials grouped by what was denied on what, with counts and first and last seen. */

import type { Allocation } from '../core/allocation.js';
import { classifyDenial, type DenialKind, KIND_SEVERITY } from '../core/denial-kind.js';
import { listAllocations } from './allocations.js';
import type { Store } from './store.js';
import { allDenialRows, SELECT_DENIALS, toAttributed } from './denial-rows.js';
import { allocationLabelMatch } from './label-match.js';
import type { DenialFilter } from './denial-query.js';

export interface SummaryGroup {
  kind: DenialKind;
  tclass: string | null;
  perms: string;
  targetType: string | null;
  /** The path, or for cross-VM groups the other VM's name. */
  target: string;
  targetVm: string | null;
  count: number;
  permissive: number;
  firstSeen: number;
  lastSeen: number;
  /** A denial id to `explain`. */
  exampleId: number;
}

export interface VmSummaryAnswer {
  uuid: string;
  name: string;
  total: number;
  groups: SummaryGroup[];
}

interface GroupRow {
  perms: string;
  tclass: string | null;
  ttype: string | null;
  target: string | null;
  n: number;
  permissive: number;
  first_seen: number;
  last_seen: number;
  example: number;
}

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
  const groups = new Map<string, SummaryGroup>();
  let total = 0;
  const add = (g: Omit<SummaryGroup, 'permissive' | 'count'> & { count: number; permissive: number }) => {
    total += g.count;
    const key = [g.kind, g.tclass, g.perms, g.targetType, g.target].join('\u0000');
    const have = groups.get(key);
    if (!have) {
      groups.set(key, { ...g });
      return;
    }
    have.count += g.count;
    have.permissive += g.permissive;
    have.firstSeen = Math.min(have.firstSeen, g.firstSeen);
    have.lastSeen = Math.max(have.lastSeen, g.lastSeen);
  };
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
      .all(params) as GroupRow[];
    for (const r of rows) {
      const perms = r.perms === '' ? [] : r.perms.split(' ');
      const kind = classifyDenial({
        model: a.model === 'apparmor' ? 'apparmor' : 'selinux',
        perms,
        tclass: r.tclass,
        // With the source allocation known, classification needs neither source type nor profile.
        sourceType: null,
        sourceCategories: a.categories,
        profile: a.model === 'apparmor' ? a.label : null,
        targetType: r.ttype,
        targetCategories: '',
        sourceAllocation: a,
        targetAllocation: null,
        targetFormerHolder: null,
      });
      add({
        kind,
        tclass: r.tclass,
        perms: r.perms,
        targetType: r.ttype,
        target: r.target ?? '?',
        targetVm: null,
        count: r.n,
        permissive: r.permissive,
        firstSeen: r.first_seen,
        lastSeen: r.last_seen,
        exampleId: r.example,
      });
    }
    const labelled = allDenialRows(
      store.statement(
        `${SELECT_DENIALS} WHERE ${where} AND d.time >= @from AND d.time < @to AND (@granted = 1 OR d.granted = 0)
           AND d.tcategories IS NOT NULL AND d.tcategories <> ''`,
      ),
      params,
    );
    const cache = new Map<number, Allocation>([[a.id, a]]);
    for (const row of labelled) {
      const d = toAttributed(store, row, cache);
      if (filter.kind !== undefined && d.kind !== filter.kind) continue;
      const targetVm = d.target.allocation?.name ?? null;
      add({
        kind: d.kind,
        tclass: d.tclass,
        perms: d.perms.join(' '),
        targetType: d.target.type,
        target:
          d.kind === 'cross-vm' && targetVm
            ? `VM ${targetVm}`
            : (d.target.path ?? d.target.name ?? d.target.context ?? '?'),
        targetVm,
        count: 1,
        permissive: d.permissive ? 1 : 0,
        firstSeen: d.time,
        lastSeen: d.time,
        exampleId: d.id,
      });
    }
  }
  const sorted = [...groups.values()]
    .filter((g) => filter.kind === undefined || g.kind === filter.kind)
    .sort((x, y) => KIND_SEVERITY[x.kind] - KIND_SEVERITY[y.kind] || y.count - x.count);
  return {
    uuid,
    name,
    total: filter.kind === undefined ? total : sorted.reduce((n, g) => n + g.count, 0),
    groups: sorted,
  };
}
