/** Where a VM's denials live: one index range per allocation of the VM, for the per-VM answers. */

import type { Allocation } from '../core/allocation.js';
import { listAllocations } from './allocations.js';
import type { Store } from './store.js';
import { allocationLabelMatch } from './label-match.js';

/** The index ranges a VM's denials in a window live in: one per allocation (for streaming readers). */
export interface VmDenialRange {
  allocation: Allocation;
  host: string;
  /** The AppArmor profile or the SELinux categories the allocation's denials carry. */
  key: string;
  apparmor: boolean;
  from: number;
  to: number;
}

/**
 * The index ranges a VM's denials in a window live in: one per labelled allocation, oldest
 * first (for streaming readers and per-allocation queries).
 */
export function vmDenialRanges(
  store: Store,
  uuid: string,
  window: { since?: number; until?: number; host?: string } = {},
): VmDenialRange[] {
  const since = window.since ?? 0;
  const until = window.until ?? Number.MAX_SAFE_INTEGER;
  return listAllocations(store, { uuid, ...(window.host !== undefined && { host: window.host }) })
    .sort((a, b) => a.startedAt - b.startedAt || a.id - b.id)
    .filter((a) => a.model !== 'none' && !(a.model === 'selinux' && a.categories === ''))
    .map((a) => ({
      allocation: a,
      host: a.host,
      key: (a.model === 'apparmor' ? a.label : a.categories) as string,
      apparmor: a.model === 'apparmor',
      from: Math.max(since, a.startedAt),
      to: Math.min(until, a.endedAt ?? Number.MAX_SAFE_INTEGER),
    }))
    .filter((r) => r.from < r.to);
}

/** The first and last denial time of a VM in a window (undefined when it has none). */
export function vmDenialSpan(
  store: Store,
  uuid: string,
  window: { since?: number; until?: number } = {},
): { first: number; last: number } | undefined {
  let first: number | undefined;
  let last: number | undefined;
  for (const r of vmDenialRanges(store, uuid, window)) {
    const row = store
      .statement(
        `SELECT min(d.time) AS first, max(d.time) AS last FROM denial d
         WHERE ${allocationLabelMatch(r.apparmor)} AND d.time >= @from AND d.time < @to AND d.granted = 0`,
      )
      .get(r) as { first: number | null; last: number | null };
    if (row.first !== null) first = first === undefined ? row.first : Math.min(first, row.first);
    if (row.last !== null) last = last === undefined ? row.last : Math.max(last, row.last);
  }
  return first === undefined || last === undefined ? undefined : { first, last };
}
