/**
 * The answers' query layer, shared by the CLI and the API: denials with their attribution
 * computed at query time, never frozen at ingest. A denial's source VM is the allocation
 * on the same host whose category set equals the scontext's and whose [started_at,
 * ended_at) holds the event time (for AppArmor: whose recorded label is the denial's
 * profile, as allocationLabelMatch says for the per-VM answers); its target VM is the holder of the tcontext's set at that time. So
 * an allocation recorded after its denials arrived still attributes them.
 */

import type { Allocation, ExpectedDisk, RelabelAction } from '../core/allocation.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import {
  classifyDenial,
  type DenialKind,
  explainDenial,
  type Explanation,
  KIND_SEVERITY,
} from '../core/denial-kind.js';
import { getAllocation, listAllocations, listExpectedDisks } from './allocations.js';
import { eventRawText, RAW_COLUMNS, type RawRef } from './raw-blocks.js';
import { impliedContext } from './implied-context.js';
import { listRelabelsForPath } from './relabels.js';
import type { Statement, Store } from './store.js';

const FOREVER = '9223372036854775807';

// Denial rows are read as arrays (better-sqlite3's raw mode) and destructured in
// toAttributed: building a 38-property object per row in the driver cost more than the
// query (bench/api).
// Keep this list and DenialTuple in the same order.
const denialColumns = (host: string) =>
  `d.id, d.event_id, ${host}, d.serial, d.time, d.model, d.record_type, d.granted, d.permissive, d.perms, d.tclass, d.scontext, d.stype, d.scategories, d.spid, d.scomm, d.sexe, d.tcontext, d.ttype, d.tcategories, d.tpath, d.tname, d.tdev, d.tinode, d.aa_profile, d.aa_child, d.aa_operation, d.aa_requested, d.aa_denied, d.aa_fsuid, d.aa_ouid, d.syscall, d.syscall_success, d.syscall_exit, d.proctitle`;

// Attribution as correlated subqueries, each a SEARCH on allocation_by_label or
// allocation_by_vm (test/store/denial-query.test.ts checks the plans).
const SELECT_DENIALS = `
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
 * The condition matching the denials made under one allocation's label (table alias `d`,
 * parameters @host and @key: the AppArmor profile or the SELinux categories). Each is a
 * range of denial_by_profile or denial_by_source once @from/@to bound the time.
 */
export function allocationLabelMatch(apparmor: boolean): string {
  return apparmor
    ? 'd.aa_profile = @key AND d.host_id = (SELECT id FROM host WHERE name = @host)'
    : 'd.host_id = (SELECT id FROM host WHERE name = @host) AND d.scategories = @key';
}

/**
 * The same rows for one allocation's range, where the source allocation is known (it is
 * the one scanned): no source subquery, and target subqueries only for targets with
 * categories (CASE evaluates them lazily), and no join for the host's name (it is @host),
 * which would keep SQLite from reading the index in time order. For `denials --vm` (bench/api).
 */
const SELECT_DENIALS_OF_ALLOCATION = `
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

/** The filters of `queryDenials` that are not index ranges, as SQL over the same parameters. */
const RESIDUAL_FILTERS = `(@granted = 1 OR d.granted = 0)
  AND (@tclass IS NULL OR d.tclass = @tclass)
  AND (@perm IS NULL OR instr(' ' || d.perms || ' ', ' ' || @perm || ' ') > 0)
  AND (@permissive IS NULL OR d.permissive = @permissive)
  AND (@beforeTime IS NULL OR d.time < @beforeTime OR (d.time = @beforeTime AND d.id < @beforeId))`;

const rowId = (row: DenialTuple): number => row[0];
const rowTime = (row: DenialTuple): number => row[4];
const newestFirst = (x: DenialTuple, y: DenialTuple): number => rowTime(y) - rowTime(x) || rowId(y) - rowId(x);

type DenialTuple = [
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
function allDenialRows(stmt: Statement, ...params: unknown[]): DenialTuple[] {
  return stmt.raw(true).all(...params) as DenialTuple[];
}

function iterateDenialRows(stmt: Statement, params: unknown): IterableIterator<DenialTuple> {
  return stmt.raw(true).iterate(params) as IterableIterator<DenialTuple>;
}

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

function toAttributed(store: Store, row: DenialTuple, cache: Map<number, Allocation>): AttributedDenial {
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

export interface DenialExplanation {
  denial: AttributedDenial;
  /** The audit records of the event, verbatim. */
  raw: string[];
  relabels: RelabelAction[];
  expected: ExpectedDisk | null;
  explanation: Explanation;
}

/** Everything `explain` shows: raw records, attribution, evidence rows, cause and fix. */
export function explainStoredDenial(store: Store, id: number): DenialExplanation | undefined {
  const denial = getDenial(store, id);
  if (!denial) return undefined;
  const raw = eventRawText(
    store,
    store.statement(`SELECT ${RAW_COLUMNS} FROM event e WHERE id = ?`).get(denial.eventId) as RawRef,
  ).split('\n');
  const path = denial.target.path;
  const relabels = path ? listRelabelsForPath(store, path) : [];
  const expected =
    path && denial.source.allocation
      ? (listExpectedDisks(store, denial.source.allocation.id).find((d) => d.path === path) ?? null)
      : null;
  const explanation = explainDenial(
    denial.kind,
    {
      model: denial.model,
      perms: denial.perms,
      tclass: denial.tclass,
      sourceType: denial.source.type,
      sourceCategories: denial.source.categories,
      profile: denial.apparmor?.profile ?? null,
      targetType: denial.target.type,
      targetCategories: denial.target.categories,
      sourceAllocation: denial.source.allocation,
      targetAllocation: denial.target.allocation,
      targetFormerHolder: denial.target.formerHolder,
      path,
      permissive: denial.permissive,
      comm: denial.source.comm,
      pid: denial.source.pid,
    },
    { relabels, expected },
  );
  return { denial, raw, relabels, expected, explanation };
}

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
