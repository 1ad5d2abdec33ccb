/**
 * A denial row as the answers read it: the SELECT over the view `denial` with attribution
 * computed at query time, never frozen at ingest. A denial's source VM is the allocation
 * on the same host whose category set equals the scontext's and whose [started_at,
 * ended_at) holds the event time (for AppArmor: whose recorded label is the denial's
 * profile, as allocationLabelMatch says for the per-VM answers); its target VM is the
 * holder of the tcontext's set at that time. So an allocation recorded after its denials
 * arrived still attributes them. Rows are decoded into AttributedDenial here.
 */

import type { Allocation } from '../core/allocation.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import { classifyDenial } from '../core/denial-kind.js';
import { getAllocation } from './allocations.js';
import { impliedContext } from './implied-context.js';
import type { Statement, Store } from './store.js';

export const FOREVER = '9223372036854775807';

// Denial rows are read as arrays (better-sqlite3's raw mode) and destructured in
// toAttributed: building a 38-property object per row in the driver cost more than the
// query (bench/api).
// Keep this list and DenialTuple in the same order.
const denialColumns = (host: string) =>
  `d.id, d.event_id, ${host}, d.serial, d.time, d.model, d.record_type, d.granted, d.permissive, d.perms, d.tclass, d.scontext, d.stype, d.scategories, d.spid, d.scomm, d.sexe, d.tcontext, d.ttype, d.tcategories, d.tpath, d.tname, d.tdev, d.tinode, d.aa_profile, d.aa_child, d.aa_operation, d.aa_requested, d.aa_denied, d.aa_fsuid, d.aa_ouid, d.syscall, d.syscall_success, d.syscall_exit, d.proctitle`;

// Attribution as correlated subqueries, each a SEARCH on allocation_by_label or
// allocation_by_vm (test/store/denial-query.test.ts checks the plans).
export const SELECT_DENIALS = `
  SELECT ${denialColumns('h.name')},
    CASE WHEN d.model = 'apparmor' THEN
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.model = 'apparmor' AND a.label = d.aa_profile
          AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
        ORDER BY a.started_at DESC LIMIT 1)
    ELSE
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.categories = d.scategories AND d.scategories <> ''
          AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
        ORDER BY a.started_at DESC LIMIT 1)
    END AS source_alloc,
    (SELECT a.id FROM allocation a
      WHERE a.host_id = d.host_id AND a.categories = d.tcategories AND d.tcategories <> ''
        AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
      ORDER BY a.started_at DESC LIMIT 1) AS target_alloc,
    (SELECT a.id FROM allocation a
      WHERE a.host_id = d.host_id AND a.categories = d.tcategories AND d.tcategories <> ''
        AND a.ended_at IS NOT NULL AND a.ended_at <= d.time
      ORDER BY a.ended_at DESC LIMIT 1) AS former_alloc
  FROM denial d JOIN host h ON h.id = d.host_id`;

/**
 * The same rows for one allocation's range, where the source allocation is known (it is
 * the one scanned): no source subquery, and target subqueries only for targets with
 * categories (CASE evaluates them lazily), and no join for the host's name (it is @host),
 * which would keep SQLite from reading the index in time order. For `denials --vm` (bench/api).
 */
export const SELECT_DENIALS_OF_ALLOCATION = `
  SELECT ${denialColumns('@host')}, @allocation AS source_alloc,
    CASE WHEN d.tcategories <> '' THEN
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.categories = d.tcategories
          AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
        ORDER BY a.started_at DESC LIMIT 1) END AS target_alloc,
    CASE WHEN d.tcategories <> '' THEN
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.categories = d.tcategories
          AND a.ended_at IS NOT NULL AND a.ended_at <= d.time
        ORDER BY a.ended_at DESC LIMIT 1) END AS former_alloc
  FROM denial d`;

const rowId = (row: DenialTuple): number => row[0];
export const rowTime = (row: DenialTuple): number => row[4];
export const newestFirst = (x: DenialTuple, y: DenialTuple): number => rowTime(y) - rowTime(x) || rowId(y) - rowId(x);

export type DenialTuple = [
  id: number,
  event_id: number,
  host: string,
  serial: number,
  time: number,
  model: 'selinux' | 'apparmor',
  record_type: string,
  granted: number,
  permissive: number,
  perms: string,
  tclass: string | null,
  scontext: string | null,
  stype: string | null,
  scategories: string | null,
  spid: number | null,
  scomm: string | null,
  sexe: string | null,
  tcontext: string | null,
  ttype: string | null,
  tcategories: string | null,
  tpath: string | null,
  tname: string | null,
  tdev: string | null,
  tinode: number | null,
  aa_profile: string | null,
  aa_child: string | null,
  aa_operation: string | null,
  aa_requested: string | null,
  aa_denied: string | null,
  aa_fsuid: number | null,
  aa_ouid: number | null,
  syscall: number | null,
  syscall_success: number | null,
  syscall_exit: number | null,
  proctitle: string | null,
  source_alloc: number | null,
  target_alloc: number | null,
  former_alloc: number | null,
];

/** Runs a statement over SELECT_DENIALS or SELECT_DENIALS_OF_ALLOCATION. */
export function allDenialRows(stmt: Statement, ...params: unknown[]): DenialTuple[] {
  return stmt.raw(true).all(...params) as DenialTuple[];
}

export function iterateDenialRows(stmt: Statement, params: unknown): IterableIterator<DenialTuple> {
  return stmt.raw(true).iterate(params) as IterableIterator<DenialTuple>;
}

export function toAttributed(store: Store, row: DenialTuple, cache: Map<number, Allocation>): AttributedDenial {
  const [
    id,
    event_id,
    host,
    serial,
    time,
    model,
    record_type,
    granted,
    permissive,
    perms,
    tclass,
    scontext,
    stype,
    scategories,
    spid,
    scomm,
    sexe,
    tcontext,
    ttype,
    tcategories,
    tpath,
    tname,
    tdev,
    tinode,
    aa_profile,
    aa_child,
    aa_operation,
    aa_requested,
    aa_denied,
    aa_fsuid,
    aa_ouid,
    syscall,
    syscall_success,
    syscall_exit,
    proctitle,
    source_alloc,
    target_alloc,
    former_alloc,
  ] = row;
  const alloc = (allocationId: number | null): Allocation | null => {
    if (allocationId === null) return null;
    let a = cache.get(allocationId);
    if (!a) {
      a = getAllocation(store, allocationId);
      if (a) cache.set(allocationId, a);
    }
    return a ?? null;
  };
  const source = alloc(source_alloc);
  const target = alloc(target_alloc);
  const former = alloc(former_alloc);
  const permList = perms === '' ? [] : perms.split(' ');
  const kind = classifyDenial({
    model,
    perms: permList,
    tclass,
    sourceType: stype,
    sourceCategories: scategories,
    profile: aa_profile,
    targetType: ttype,
    targetCategories: tcategories,
    sourceAllocation: source,
    targetAllocation: target,
    targetFormerHolder: former,
  });
  return {
    id,
    eventId: event_id,
    time,
    host,
    serial,
    model,
    recordType: record_type,
    kind,
    permissive: permissive === 1,
    granted: granted === 1,
    perms: permList,
    tclass,
    source: {
      context: scontext ?? impliedContext('source', stype, scategories),
      type: stype,
      categories: scategories,
      pid: spid,
      comm: scomm,
      exe: sexe,
      allocation: source,
    },
    target: {
      context: tcontext ?? impliedContext('target', ttype, tcategories),
      type: ttype,
      categories: tcategories,
      path: tpath,
      name: tname,
      dev: tdev,
      inode: tinode,
      allocation: target,
      formerHolder: former,
    },
    apparmor:
      aa_profile === null
        ? null
        : {
            profile: aa_profile,
            child: aa_child,
            operation: aa_operation,
            requestedMask: aa_requested,
            deniedMask: aa_denied,
            fsuid: aa_fsuid,
            ouid: aa_ouid,
          },
    syscall:
      syscall === null
        ? null
        : {
            number: syscall,
            success: syscall_success === null ? null : syscall_success === 1,
            exit: syscall_exit,
          },
    proctitle,
  };
}
