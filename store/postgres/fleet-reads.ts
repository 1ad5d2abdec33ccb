/**
 * The read answers over the fleet's PostgreSQL: the same questions as the SQLite query
 * layer (store/denial-query.ts, vm-summary.ts, allocations.ts) with the same attribution
 * (host + label + time, computed when asked), decoded by the same code (decodeDenial,
 * SummaryGroups). The contract suite (test/contract) asks both backends the same
 * questions over the same records and requires equal answers.
 */

import type { Allocation, ExpectedDisk, RelabelAction, VmSummary } from '../../core/allocation.js';
import { type DenialExplanation, explanationOf } from '../denial-explanation.js';
import { type AllocationRow, toAllocation } from '../allocations.js';
import type { AttributedDenial } from '../../core/attributed-denial.js';
import { SvirtAuditError } from '../../core/errors.js';
import { attributionIds, DENIAL_COLUMNS, decodeDenial, type DenialTuple, newestFirst } from '../denial-rows.js';
import type { DenialFilter } from '../denial-query.js';
import { type CountedGroup, SummaryGroups, type VmSummaryAnswer } from '../summary-groups.js';
import type { FleetPool } from './connect.js';
import type { StreamCursor } from './stream-cursor.js';

const HOLDER = (categories: string) => `
  (SELECT a.id FROM allocation a
    WHERE a.host = d.host AND a.categories = ${categories} AND ${categories} <> ''
      AND a.started_at <= d.time AND (a.ended_at IS NULL OR a.ended_at > d.time)
    ORDER BY a.started_at DESC LIMIT 1)`;

const ATTRIBUTION: Record<string, string> = {
  source_alloc: `CASE WHEN d.model = 'apparmor' THEN
    (SELECT a.id FROM allocation a
      WHERE a.host = d.host AND a.model = 'apparmor' AND a.label = d.aa_profile
        AND a.started_at <= d.time AND (a.ended_at IS NULL OR a.ended_at > d.time)
      ORDER BY a.started_at DESC LIMIT 1)
    ELSE ${HOLDER('d.scategories')} END`,
  target_alloc: HOLDER('d.tcategories'),
  former_alloc: `(SELECT a.id FROM allocation a
    WHERE a.host = d.host AND a.categories = d.tcategories AND d.tcategories <> ''
      AND a.ended_at IS NOT NULL AND a.ended_at <= d.time
    ORDER BY a.ended_at DESC LIMIT 1)`,
};

/** The SELECT list in DENIAL_COLUMNS order, so rows decode as SQLite's do. */
export const selectList = (sourceAlloc?: string) =>
  DENIAL_COLUMNS.map((c) =>
    c === 'time'
      ? 'fleet_ms(d.time)'
      : c === 'source_alloc' && sourceAlloc
        ? sourceAlloc
        : c in ATTRIBUTION
          ? `${ATTRIBUTION[c]}`
          : `d.${c}`,
  ).join(', ');

const RESIDUAL = (p: (v: unknown) => string, f: DenialFilter): string[] => {
  const w: string[] = [];
  if (!f.includeGranted) w.push('d.granted = 0');
  if (f.tclass !== undefined) w.push(`d.tclass = ${p(f.tclass)}`);
  if (f.perm !== undefined) w.push(`position(' ' || ${p(f.perm)} || ' ' in ' ' || d.perms || ' ') > 0`);
  if (f.permissive !== undefined) w.push(`d.permissive = ${p(f.permissive ? 1 : 0)}`);
  if (f.before !== undefined)
    w.push(
      `(d.time < fleet_time(${p(f.before.time)}) OR (d.time = fleet_time(${p(f.before.time)}) AND d.id < ${p(f.before.id)}))`,
    );
  return w;
};

const SELECT_ALLOCATION = `SELECT id, host, vm_uuid, vm_name, model, label, image_label, categories, pid, source,
  fleet_ms(started_at) AS started_at, fleet_ms(ended_at) AS ended_at FROM allocation`;

async function allocationsById(pool: FleetPool, ids: number[]): Promise<Map<number, Allocation>> {
  if (ids.length === 0) return new Map();
  const r = await pool.query<AllocationRow>(`${SELECT_ALLOCATION} WHERE id = ANY($1::bigint[])`, [[...new Set(ids)]]);
  return new Map(r.rows.map((row) => [row.id, toAllocation(row)]));
}

export async function decodeRows(
  pool: FleetPool,
  rows: DenialTuple[],
  known: Allocation[] = [],
): Promise<AttributedDenial[]> {
  const allocations = await allocationsById(pool, rows.flatMap(attributionIds));
  for (const a of known) allocations.set(a.id, a);
  return rows.map((row) => decodeDenial(row, (id) => allocations.get(id) ?? null));
}

/** Allocations across the fleet, newest first (a VM's label history on every host), as listAllocations answers. */
export async function fleetAllocations(
  pool: FleetPool,
  filter: { uuid?: string; host?: string; openOnly?: boolean; limit?: number } = {},
): Promise<Allocation[]> {
  const r = await pool.query<AllocationRow>(
    `${SELECT_ALLOCATION} WHERE ($1::text IS NULL OR vm_uuid = $1) AND ($2::text IS NULL OR host = $2)
       AND (NOT $3 OR ended_at IS NULL)
     ORDER BY started_at DESC, id DESC LIMIT $4`,
    [filter.uuid ?? null, filter.host ?? null, filter.openOnly ?? false, filter.limit ?? null],
  );
  return r.rows.map(toAllocation);
}

/** Attributed denials across the fleet, newest first: what queryDenials answers for one host. */
export async function fleetDenials(pool: FleetPool, filter: DenialFilter = {}): Promise<AttributedDenial[]> {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const since = filter.since ?? 0;
  const until = filter.until ?? Number.MAX_SAFE_INTEGER;
  // A kind is known only after classification: then every match is read, as SQLite does.
  const limit = filter.kind === undefined && filter.limit !== undefined ? filter.limit : null;
  const residual = (extra: string[]) => {
    const w = [...extra, ...RESIDUAL(p, filter)];
    return `${w.length > 0 ? ` AND ${w.join(' AND ')}` : ''} ORDER BY d.time DESC, d.id DESC${limit !== null ? ` LIMIT ${p(limit)}` : ''}`;
  };
  let rows: DenialTuple[] = [];
  let known: Allocation[] = [];
  if (filter.vmUuid !== undefined) {
    known = labelledAllocations(
      await fleetAllocations(pool, { uuid: filter.vmUuid, ...(filter.host !== undefined && { host: filter.host }) }),
    );
    // One query per model over all of the VM's allocations (each an index range per allocation).
    for (const group of byModel(known)) {
      params.length = 0;
      const text = `SELECT ${selectList('a.id')} ${vmJoin(group, p, since, until)}${residual([])}`;
      rows.push(...((await pool.query({ text, values: params, rowMode: 'array' })).rows as unknown as DenialTuple[]));
    }
    rows.sort(newestFirst);
  } else {
    const text = `SELECT ${selectList()} FROM denial d
      WHERE d.time >= fleet_time(${p(since)}) AND d.time < fleet_time(${p(Math.min(until, 8.64e15))})
        ${filter.host !== undefined ? `AND d.host = ${p(filter.host)}` : ''}${residual([])}`;
    rows = (await pool.query({ text, values: params, rowMode: 'array' })).rows as unknown as DenialTuple[];
  }
  const out: AttributedDenial[] = [];
  for (const d of await decodeRows(pool, rows, known)) {
    if (filter.kind !== undefined && d.kind !== filter.kind) continue;
    out.push(d);
    if (filter.limit !== undefined && out.length >= filter.limit) break;
  }
  return out;
}

/** Allocations whose denials can be found by label: not unconfined, not SELinux without categories. */
export const labelledAllocations = (all: Allocation[]) =>
  all.filter((a) => a.model !== 'none' && !(a.model === 'selinux' && a.categories === ''));

/** Allocations split by how their denials carry the label (AppArmor profile or SELinux categories). */
export const byModel = (allocations: Allocation[]): Allocation[][] =>
  [allocations.filter((a) => a.model === 'apparmor'), allocations.filter((a) => a.model !== 'apparmor')].filter(
    (g) => g.length > 0,
  );

/**
 * The denials made under these allocations' labels (all of one model), each within its
 * allocation's interval and the window: the FROM and WHERE of a per-VM answer, `a` the
 * allocation. A nested loop of index ranges (denial_by_profile or denial_by_source).
 */
export function vmJoin(group: Allocation[], p: (v: unknown) => string, since: number, until: number): string {
  const label = group[0]?.model === 'apparmor' ? 'd.aa_profile = a.label' : 'd.scategories = a.categories';
  return `FROM allocation a JOIN denial d ON d.host = a.host AND ${label}
      AND d.time >= greatest(a.started_at, fleet_time(${p(since)}))
      AND d.time < least(coalesce(a.ended_at, 'infinity'), fleet_time(${p(Math.min(until, 8.64e15))}))
    WHERE a.id = ANY(${p(group.map((a) => a.id))}::bigint[])`;
}

/** A VM's summary across the fleet: what summarizeVm answers for one host. */
export async function fleetSummary(
  pool: FleetPool,
  uuid: string,
  name: string,
  filter: Omit<DenialFilter, 'vmUuid' | 'limit'> = {},
): Promise<VmSummaryAnswer> {
  const groups = new SummaryGroups();
  const since = filter.since ?? 0;
  const until = filter.until ?? Number.MAX_SAFE_INTEGER;
  const known = labelledAllocations(
    await fleetAllocations(pool, { uuid, ...(filter.host !== undefined && { host: filter.host }) }),
  );
  for (const group of byModel(known)) {
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const from = vmJoin(group, p, since, until);
    const granted = filter.includeGranted ? '' : ' AND d.granted = 0';
    // Targets without categories, counted by what was denied on what over all the group's
    // allocations at once: with the source allocation known, their kind depends on the
    // model only (classifyDenial), so any allocation of the group classifies them.
    const counted = await pool.query<CountedGroup>(
      `SELECT d.perms, d.tclass, d.ttype, coalesce(d.tpath, d.tname, '?') AS target,
              count(*)::integer AS n, sum(d.permissive)::integer AS permissive, fleet_ms(min(d.time)) AS first_seen,
              fleet_ms(max(d.time)) AS last_seen, min(d.id) AS example
       ${from}${granted} AND (d.tcategories IS NULL OR d.tcategories = '')
       GROUP BY d.perms, d.tclass, d.ttype, target`,
      params,
    );
    for (const r of counted.rows) groups.addCounted(group[0] as Allocation, r);
    // Labelled targets (cross-VM, stale labels): attributed one by one.
    const labelled = await pool.query({
      text: `SELECT ${selectList('a.id')} ${from}${granted} AND d.tcategories IS NOT NULL AND d.tcategories <> ''`,
      values: params,
      rowMode: 'array',
    });
    for (const d of await decodeRows(pool, labelled.rows as unknown as DenialTuple[], known))
      groups.addAttributed(d, filter.kind);
  }
  return groups.answer(uuid, name, filter.kind);
}

/** A VM by uuid or name across the fleet, as resolveVm answers for one host. */
export async function fleetResolveVm(pool: FleetPool, ref: string): Promise<{ uuid: string; name: string }> {
  const byUuid = await pool.query<{ uuid: string; name: string }>(
    'SELECT vm_uuid AS uuid, vm_name AS name FROM allocation WHERE vm_uuid = $1 ORDER BY started_at DESC LIMIT 1',
    [ref.toLowerCase()],
  );
  if (byUuid.rows[0]) return byUuid.rows[0];
  const byName = await pool.query<{ uuid: string; name: string }>(
    'SELECT DISTINCT vm_uuid AS uuid, vm_name AS name FROM allocation WHERE vm_name = $1',
    [ref],
  );
  if (byName.rows.length === 1) return byName.rows[0] as { uuid: string; name: string };
  if (byName.rows.length > 1)
    throw new SvirtAuditError(
      'AMBIGUOUS_VM',
      `${byName.rows.length} VMs have been called "${ref}": ${byName.rows.map((v) => v.uuid).join(', ')}`,
      'name the VM by its uuid',
    );
  throw new SvirtAuditError(
    'UNKNOWN_VM',
    `no VM named or with uuid "${ref}" is recorded in the fleet`,
    'list known VMs with: svirt-audit vms',
  );
}

/** Every VM of the fleet, most recently seen first, as listVms answers for one host. */
export async function fleetVms(pool: FleetPool): Promise<VmSummary[]> {
  const r = await pool.query<{
    uuid: string;
    name: string;
    hosts: string[];
    allocations: number;
    first_seen: number;
    last_seen: number;
    open_id: number | null;
  }>(
    `SELECT vm_uuid AS uuid, (array_agg(vm_name ORDER BY started_at DESC, id DESC))[1] AS name,
            array_agg(DISTINCT host) AS hosts, count(*)::integer AS allocations,
            fleet_ms(min(started_at)) AS first_seen, fleet_ms(max(coalesce(ended_at, started_at))) AS last_seen,
            max(CASE WHEN ended_at IS NULL THEN id END) AS open_id
     FROM allocation GROUP BY vm_uuid ORDER BY last_seen DESC`,
  );
  const running = await allocationsById(
    pool,
    r.rows.flatMap((v) => (v.open_id === null ? [] : [v.open_id])),
  );
  return r.rows.map((v) => ({
    uuid: v.uuid,
    name: v.name,
    hosts: [...v.hosts].sort(),
    allocations: v.allocations,
    firstSeen: v.first_seen,
    lastSeen: v.last_seen,
    running: v.open_id === null ? null : (running.get(v.open_id) ?? null),
  }));
}

/** One denial with its evidence, as explainStoredDenial answers for one host. */
export async function fleetExplain(pool: FleetPool, id: number): Promise<DenialExplanation | undefined> {
  const r = await pool.query({
    text: `SELECT ${selectList()} FROM denial d WHERE d.id = $1`,
    values: [id],
    rowMode: 'array',
  });
  const [denial] = await decodeRows(pool, r.rows as unknown as DenialTuple[]);
  if (!denial) return undefined;
  const event = await pool.query<{ raw: string }>(
    'SELECT raw FROM event WHERE host = $1 AND time = fleet_time($2) AND serial = $3',
    [denial.host, denial.time, denial.serial],
  );
  const path = denial.target.path;
  const relabels = path
    ? (
        await pool.query<RelabelAction>(
          `SELECT r.local_id AS id, r.allocation_local_id AS "allocationId", r.path, r.label_before AS "labelBefore",
                  r.label_after AS "labelAfter", r.action, r.error, fleet_ms(r.at) AS at
           FROM relabel r WHERE r.path = $1 ORDER BY r.at, r.host, r.local_id`,
          [path],
        )
      ).rows
    : [];
  const source = denial.source.allocation;
  const disk =
    path && source
      ? (
          await pool.query<{
            path: string;
            mode: ExpectedDisk['mode'];
            expected_label: string | null;
            relabel: number;
          }>(
            `SELECT k.path, k.mode, k.expected_label, k.relabel FROM allocation a
             JOIN allocation_disk k ON k.host = a.host AND k.allocation_local_id = a.local_id
             WHERE a.id = $1 AND k.path = $2`,
            [source.id, path],
          )
        ).rows[0]
      : undefined;
  const expected = disk
    ? { path: disk.path, mode: disk.mode, expectedLabel: disk.expected_label, relabel: disk.relabel === 1 }
    : null;
  return explanationOf(denial, (event.rows[0]?.raw ?? '').split('\n'), relabels, expected);
}

/** The hosts VM `uuid` has run on. */
export async function fleetVmHosts(pool: FleetPool, uuid: string): Promise<string[]> {
  const r = await pool.query<{ host: string }>(
    'SELECT DISTINCT host FROM allocation WHERE vm_uuid = $1 ORDER BY host',
    [uuid],
  );
  return r.rows.map((h) => h.host);
}

/** The stream's start "from now": each host's shipped position (its newest local denial id here). */
export async function fleetStreamStart(pool: FleetPool): Promise<StreamCursor> {
  const r = await pool.query<{ host: string; denial_id: string }>('SELECT host, denial_id FROM ship_position');
  return new Map(r.rows.map((row) => [row.host, Number(row.denial_id)]));
}

/** One denial of the stream, with the host and local id that place it in the cursor. */
export interface StreamedDenial {
  host: string;
  localId: number;
  denial: AttributedDenial;
}

/**
 * Each host's denials after the cursor, in the order the host stored them (local ids:
 * a host ships in that order, each batch in one transaction, so what is visible here is
 * always a prefix), at most `limit` per host, host after host; a host the cursor does not
 * name yet is read from its first. `full`: some host may have more; `hosts`: the fleet's.
 */
export async function fleetDenialsAfter(
  pool: FleetPool,
  cursor: StreamCursor,
  limit: number,
): Promise<{ events: StreamedDenial[]; full: boolean; hosts: string[] }> {
  const hosts = (await pool.query<{ name: string }>('SELECT name FROM fleet_host ORDER BY name')).rows.map(
    (r) => r.name,
  );
  const rows: DenialTuple[] = [];
  const places: { host: string; localId: number }[] = [];
  let full = false;
  for (const host of hosts) {
    const r = await pool.query({
      text: `SELECT ${selectList()}, d.local_id FROM denial d
        WHERE d.host = $1 AND d.local_id > $2 AND d.granted = 0 ORDER BY d.local_id LIMIT $3`,
      values: [host, cursor.get(host) ?? 0, limit],
      rowMode: 'array',
    });
    const hostRows = r.rows as unknown as unknown[][];
    if (hostRows.length === limit) full = true;
    for (const row of hostRows) {
      places.push({ host, localId: Number(row[row.length - 1]) });
      rows.push(row.slice(0, -1) as unknown as DenialTuple);
    }
  }
  const denials = await decodeRows(pool, rows);
  return {
    events: denials.map((denial, i) => ({ ...(places[i] as { host: string; localId: number }), denial })),
    full,
    hosts,
  };
}
