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

// Denial rows are read as arrays (better-sqlite3's raw mode): building a 38-property
// object per row in the driver cost more than the query (bench/api). The columns are
// named once, here, with their types; the SELECT list, the row tuple and the decoder
// (`field`) are derived from this list.
interface DenialColumnTypes {
  id: number;
  event_id: number;
  host: string;
  serial: number;
  time: number;
  model: 'selinux' | 'apparmor';
  record_type: string;
  granted: number;
  permissive: number;
  perms: string;
  tclass: string | null;
  scontext: string | null;
  stype: string | null;
  scategories: string | null;
  spid: number | null;
  scomm: string | null;
  sexe: string | null;
  tcontext: string | null;
  ttype: string | null;
  tcategories: string | null;
  tpath: string | null;
  tname: string | null;
  tdev: string | null;
  tinode: number | null;
  aa_profile: string | null;
  aa_child: string | null;
  aa_operation: string | null;
  aa_requested: string | null;
  aa_denied: string | null;
  aa_fsuid: number | null;
  aa_ouid: number | null;
  syscall: number | null;
  syscall_success: number | null;
  syscall_exit: number | null;
  proctitle: string | null;
  /** The attribution, computed by each statement's own subqueries. */
  source_alloc: number | null;
  target_alloc: number | null;
  former_alloc: number | null;
}
type Column = keyof DenialColumnTypes;

export const DENIAL_COLUMNS = [
  'id',
  'event_id',
  'host',
  'serial',
  'time',
  'model',
  'record_type',
  'granted',
  'permissive',
  'perms',
  'tclass',
  'scontext',
  'stype',
  'scategories',
  'spid',
  'scomm',
  'sexe',
  'tcontext',
  'ttype',
  'tcategories',
  'tpath',
  'tname',
  'tdev',
  'tinode',
  'aa_profile',
  'aa_child',
  'aa_operation',
  'aa_requested',
  'aa_denied',
  'aa_fsuid',
  'aa_ouid',
  'syscall',
  'syscall_success',
  'syscall_exit',
  'proctitle',
  'source_alloc',
  'target_alloc',
  'former_alloc',
] as const satisfies readonly Column[];
// Every typed column is in the list (a compile error names the one left out).
const EVERY_COLUMN_LISTED: Exclude<Column, (typeof DENIAL_COLUMNS)[number]> extends never ? true : never = true;
void EVERY_COLUMN_LISTED;

type ColumnList = typeof DENIAL_COLUMNS;
export type DenialTuple = {
  -readonly [I in keyof ColumnList]: ColumnList[I] extends Column ? DenialColumnTypes[ColumnList[I]] : never;
};

const AT = Object.fromEntries(DENIAL_COLUMNS.map((c, i) => [c, i])) as Record<Column, number>;

/** One column of a row, by name. */
function field<K extends Column>(row: DenialTuple, column: K): DenialColumnTypes[K] {
  return row[AT[column]] as DenialColumnTypes[K];
}

type Attribution = Record<'source_alloc' | 'target_alloc' | 'former_alloc', string>;

/** The SELECT list: stored columns of the view (alias `d`), the host's name as `host`, the attribution. */
const denialColumns = (host: string, attribution: Attribution) =>
  DENIAL_COLUMNS.map((c) =>
    c === 'host' ? host : c in attribution ? `${attribution[c as keyof Attribution]} AS ${c}` : `d.${c}`,
  ).join(',\n    ');

// Attribution as correlated subqueries, each a SEARCH on allocation_by_label or
// allocation_by_vm (test/store/denial-query.test.ts checks the plans).
export const SELECT_DENIALS = `
  SELECT ${denialColumns('h.name', {
    source_alloc: `CASE WHEN d.model = 'apparmor' THEN
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.model = 'apparmor' AND a.label = d.aa_profile
          AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
        ORDER BY a.started_at DESC LIMIT 1)
    ELSE
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.categories = d.scategories AND d.scategories <> ''
          AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
        ORDER BY a.started_at DESC LIMIT 1)
    END`,
    target_alloc: `(SELECT a.id FROM allocation a
      WHERE a.host_id = d.host_id AND a.categories = d.tcategories AND d.tcategories <> ''
        AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
      ORDER BY a.started_at DESC LIMIT 1)`,
    former_alloc: `(SELECT a.id FROM allocation a
      WHERE a.host_id = d.host_id AND a.categories = d.tcategories AND d.tcategories <> ''
        AND a.ended_at IS NOT NULL AND a.ended_at <= d.time
      ORDER BY a.ended_at DESC LIMIT 1)`,
  })}
  FROM denial d JOIN host h ON h.id = d.host_id`;

/**
 * The same rows for one allocation's range, where the source allocation is known (it is
 * the one scanned): no source subquery, and target subqueries only for targets with
 * categories (CASE evaluates them lazily), and no join for the host's name (it is @host),
 * which would keep SQLite from reading the index in time order. For `denials --vm` (bench/api).
 */
export const SELECT_DENIALS_OF_ALLOCATION = `
  SELECT ${denialColumns('@host', {
    source_alloc: '@allocation',
    target_alloc: `CASE WHEN d.tcategories <> '' THEN
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.categories = d.tcategories
          AND a.started_at <= d.time AND COALESCE(a.ended_at, ${FOREVER}) > d.time
        ORDER BY a.started_at DESC LIMIT 1) END`,
    former_alloc: `CASE WHEN d.tcategories <> '' THEN
      (SELECT a.id FROM allocation a
        WHERE a.host_id = d.host_id AND a.categories = d.tcategories
          AND a.ended_at IS NOT NULL AND a.ended_at <= d.time
        ORDER BY a.ended_at DESC LIMIT 1) END`,
  })}
  FROM denial d`;

export const rowTime = (row: DenialTuple): number => field(row, 'time');
export const newestFirst = (x: DenialTuple, y: DenialTuple): number =>
  rowTime(y) - rowTime(x) || field(y, 'id') - field(x, 'id');

/** Runs a statement over SELECT_DENIALS or SELECT_DENIALS_OF_ALLOCATION. */
export function allDenialRows(stmt: Statement, ...params: unknown[]): DenialTuple[] {
  return stmt.raw(true).all(...params) as DenialTuple[];
}

export function iterateDenialRows(stmt: Statement, params: unknown): IterableIterator<DenialTuple> {
  return stmt.raw(true).iterate(params) as IterableIterator<DenialTuple>;
}

export function toAttributed(store: Store, row: DenialTuple, cache: Map<number, Allocation>): AttributedDenial {
  return decodeDenial(row, (allocationId) => {
    let a = cache.get(allocationId);
    if (!a) {
      a = getAllocation(store, allocationId);
      if (a) cache.set(allocationId, a);
    }
    return a ?? null;
  });
}

/** The ids of the allocations a row's attribution names (for a backend that fetches them in one go). */
export function attributionIds(row: DenialTuple): number[] {
  return [field(row, 'source_alloc'), field(row, 'target_alloc'), field(row, 'former_alloc')].filter(
    (id): id is number => id !== null,
  );
}

/**
 * A row in DENIAL_COLUMNS order, classified and decoded; `allocationOf` gives the
 * allocation an attribution id names (SQLite reads it from the file, the fleet prefetches).
 */
export function decodeDenial(row: DenialTuple, allocationOf: (id: number) => Allocation | null): AttributedDenial {
  const f = <K extends Column>(column: K): DenialColumnTypes[K] => field(row, column);
  const alloc = (allocationId: number | null): Allocation | null =>
    allocationId === null ? null : allocationOf(allocationId);
  const source = alloc(f('source_alloc'));
  const target = alloc(f('target_alloc'));
  const former = alloc(f('former_alloc'));
  const perms = f('perms');
  const permList = perms === '' ? [] : perms.split(' ');
  const model = f('model');
  const [stype, scategories, ttype, tcategories] = [f('stype'), f('scategories'), f('ttype'), f('tcategories')];
  const profile = f('aa_profile');
  const kind = classifyDenial({
    model,
    perms: permList,
    tclass: f('tclass'),
    sourceType: stype,
    sourceCategories: scategories,
    profile,
    targetType: ttype,
    targetCategories: tcategories,
    sourceAllocation: source,
    targetAllocation: target,
    targetFormerHolder: former,
  });
  const syscall = f('syscall');
  const success = f('syscall_success');
  return {
    id: f('id'),
    eventId: f('event_id'),
    time: f('time'),
    host: f('host'),
    serial: f('serial'),
    model,
    recordType: f('record_type'),
    kind,
    permissive: f('permissive') === 1,
    granted: f('granted') === 1,
    perms: permList,
    tclass: f('tclass'),
    source: {
      context: f('scontext') ?? impliedContext('source', stype, scategories),
      type: stype,
      categories: scategories,
      pid: f('spid'),
      comm: f('scomm'),
      exe: f('sexe'),
      allocation: source,
    },
    target: {
      context: f('tcontext') ?? impliedContext('target', ttype, tcategories),
      type: ttype,
      categories: tcategories,
      path: f('tpath'),
      name: f('tname'),
      dev: f('tdev'),
      inode: f('tinode'),
      allocation: target,
      formerHolder: former,
    },
    apparmor:
      profile === null
        ? null
        : {
            profile,
            child: f('aa_child'),
            operation: f('aa_operation'),
            requestedMask: f('aa_requested'),
            deniedMask: f('aa_denied'),
            fsuid: f('aa_fsuid'),
            ouid: f('aa_ouid'),
          },
    syscall:
      syscall === null
        ? null
        : { number: syscall, success: success === null ? null : success === 1, exit: f('syscall_exit') },
    proctitle: f('proctitle'),
  };
}
