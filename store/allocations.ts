/**
 * Allocations: which VM held which label on which host, from when to when.
 *
 * The invariant kept here: on one host, no two allocations with equal category sets have
 * overlapping intervals, so every denial has at most one owner. Callers that must read
 * and then write (pick a free label, then insert) wrap both in `store.immediate`.
 */

import type { Allocation, AllocationSource, ExpectedDisk, SecurityModel, VmSummary } from '../core/allocation.js';

export type { VmSummary } from '../core/allocation.js';
import { SvirtAuditError } from '../core/errors.js';
import { formatTime } from '../core/time-spec.js';
import { findHostId, hostId } from './hosts.js';
import type { Store } from './store.js';

export interface NewAllocation {
  host: string;
  uuid: string;
  name: string;
  model: SecurityModel;
  label: string | null;
  imageLabel: string | null;
  categories: string;
  pid: number | null;
  source: AllocationSource;
  startedAt: number;
  endedAt?: number | null;
}

/** An allocation row as both engines select it (times in ms). */
export interface AllocationRow {
  id: number;
  host: string;
  vm_uuid: string;
  vm_name: string;
  model: SecurityModel;
  label: string | null;
  image_label: string | null;
  categories: string;
  pid: number | null;
  source: AllocationSource;
  started_at: number;
  ended_at: number | null;
}

const SELECT_ALLOCATION = `
  SELECT a.id, h.name AS host, a.vm_uuid, a.vm_name, a.model, a.label, a.image_label,
         a.categories, a.pid, a.source, a.started_at, a.ended_at
  FROM allocation a JOIN host h ON h.id = a.host_id`;

export function toAllocation(row: AllocationRow): Allocation {
  return {
    id: row.id,
    host: row.host,
    uuid: row.vm_uuid,
    name: row.vm_name,
    model: row.model,
    label: row.label,
    imageLabel: row.image_label,
    categories: row.categories,
    pid: row.pid,
    source: row.source,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}

/** The allocation with this id. */
export function getAllocation(store: Store, id: number): Allocation | undefined {
  const row = store.statement(`${SELECT_ALLOCATION} WHERE a.id = ?`).get(id) as AllocationRow | undefined;
  return row && toAllocation(row);
}

/** The open allocation of VM `uuid` on `host`, if any. */
export function findOpenAllocation(store: Store, host: string, uuid: string): Allocation | undefined {
  const id = findHostId(store, host);
  if (id === undefined) return undefined;
  const row = store
    .statement(`${SELECT_ALLOCATION} WHERE a.host_id = ? AND a.vm_uuid = ? AND a.ended_at IS NULL`)
    .get(id, uuid) as AllocationRow | undefined;
  return row && toAllocation(row);
}

/** The open allocation of the VM called `name` on `host` (when the uuid is unknown). */
export function findOpenAllocationByName(store: Store, host: string, name: string): Allocation | undefined {
  const row = store
    .statement(`${SELECT_ALLOCATION} WHERE h.name = ? AND a.vm_name = ? AND a.ended_at IS NULL`)
    .get(host, name) as AllocationRow | undefined;
  return row && toAllocation(row);
}

/**
 * The category sets held on `host` at any time from `from` on (open allocations, and
 * closed ones that ended after `from`). What a new allocation starting at `from` must avoid.
 */
export function heldCategorySets(store: Store, host: string, from: number): Set<string> {
  const id = findHostId(store, host);
  if (id === undefined) return new Set();
  const rows = store
    .statement(
      `SELECT categories FROM allocation
       WHERE host_id = ? AND categories <> '' AND (ended_at IS NULL OR ended_at > ?)`,
    )
    .all(id, from) as { categories: string }[];
  return new Set(rows.map((r) => r.categories));
}

/**
 * The allocation on `host` holding `categories` at some moment of [start, end), if any
 * (end null: still open). Equal sets clash; a subset does not (`c1` vs `c1,c2`).
 */
export function findLabelHolder(
  store: Store,
  host: string,
  categories: string,
  start: number,
  end: number | null,
): Allocation | undefined {
  if (categories === '') return undefined;
  const id = findHostId(store, host);
  if (id === undefined) return undefined;
  const row = store
    .statement(
      `${SELECT_ALLOCATION}
       WHERE a.host_id = @host AND a.categories = @categories
         AND a.started_at < COALESCE(@end, 9223372036854775807)
         AND COALESCE(a.ended_at, 9223372036854775807) > @start
       ORDER BY a.started_at DESC LIMIT 1`,
    )
    .get({ host: id, categories, start, end }) as AllocationRow | undefined;
  return row && toAllocation(row);
}

/**
 * Insert an allocation. Throws ALLOCATION_CONFLICT, naming the holder, when another
 * allocation on the host holds the same category set during the new one's interval.
 */
export function insertAllocation(store: Store, input: NewAllocation): Allocation {
  const endedAt = input.endedAt ?? null;
  const holder = findLabelHolder(store, input.host, input.categories, input.startedAt, endedAt);
  if (holder) throw labelConflict(input.categories, holder);
  const result = store
    .statement(
      `INSERT INTO allocation (host_id, vm_uuid, vm_name, model, label, image_label, categories,
                               pid, source, started_at, ended_at, recorded_at)
       VALUES (@hostId, @uuid, @name, @model, @label, @imageLabel, @categories,
               @pid, @source, @startedAt, @endedAt, @recordedAt)`,
    )
    .run({
      hostId: hostId(store, input.host),
      uuid: input.uuid,
      name: input.name,
      model: input.model,
      label: input.label,
      imageLabel: input.imageLabel,
      categories: input.categories,
      pid: input.pid,
      source: input.source,
      startedAt: input.startedAt,
      endedAt,
      recordedAt: Date.now(),
    });
  return getAllocation(store, Number(result.lastInsertRowid)) as Allocation;
}

export function labelConflict(categories: string, holder: Allocation): SvirtAuditError {
  const until = holder.endedAt === null ? 'and still holds it' : `until ${formatTime(holder.endedAt)}`;
  return new SvirtAuditError(
    'ALLOCATION_CONFLICT',
    `category set ${categories} is held by VM ${holder.name} (${holder.uuid}) on ${holder.host} since ${formatTime(holder.startedAt)} ${until}`,
    holder.endedAt === null
      ? `release it first (svirt-audit release --uuid ${holder.uuid}) if that VM is no longer running`
      : 'choose another label or another start time',
  );
}

/** Close an allocation. Throws BAD_INPUT when `endedAt` is before its start. */
export function endAllocation(store: Store, allocation: Allocation, endedAt: number): Allocation {
  if (endedAt < allocation.startedAt) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `end time ${formatTime(endedAt)} is before the allocation's start ${formatTime(allocation.startedAt)}`,
      'give --ended a later time',
    );
  }
  store.statement('UPDATE allocation SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(endedAt, allocation.id);
  return getAllocation(store, allocation.id) as Allocation;
}

export function setAllocationPid(store: Store, allocationId: number, pid: number): void {
  store.statement('UPDATE allocation SET pid = ? WHERE id = ?').run(pid, allocationId);
}

/** Record (replace) the disks the VM definition expects to be labelled. */
export function replaceExpectedDisks(store: Store, allocationId: number, disks: readonly ExpectedDisk[]): void {
  store.statement('DELETE FROM allocation_disk WHERE allocation_id = ?').run(allocationId);
  addExpectedDisks(store, allocationId, disks);
}

/**
 * The disk set a VM definition gives an allocation: all of it for a new allocation; for
 * one already open (libvirtd reconnecting, a second hook call) the disks it does not list
 * yet, such as ones hot-plugged since the start, while listed ones keep what they say.
 */
export function recordExpectedDisks(
  store: Store,
  allocationId: number,
  created: boolean,
  disks: readonly ExpectedDisk[],
): void {
  if (created) replaceExpectedDisks(store, allocationId, disks);
  else addExpectedDisks(store, allocationId, disks);
}

/** Add the disks whose path the allocation does not list yet; listed ones keep what they say. */
function addExpectedDisks(store: Store, allocationId: number, disks: readonly ExpectedDisk[]): void {
  const insert = store.statement(
    `INSERT INTO allocation_disk (allocation_id, path, mode, expected_label, relabel)
     VALUES (?, ?, ?, ?, ?) ON CONFLICT (allocation_id, path) DO NOTHING`,
  );
  for (const d of disks) insert.run(allocationId, d.path, d.mode, d.expectedLabel, d.relabel ? 1 : 0);
}

export function listExpectedDisks(store: Store, allocationId: number): ExpectedDisk[] {
  const rows = store
    .statement('SELECT path, mode, expected_label, relabel FROM allocation_disk WHERE allocation_id = ? ORDER BY rowid')
    .all(allocationId) as {
    path: string;
    mode: ExpectedDisk['mode'];
    expected_label: string | null;
    relabel: number;
  }[];
  return rows.map((r) => ({ path: r.path, mode: r.mode, expectedLabel: r.expected_label, relabel: r.relabel === 1 }));
}

export interface AllocationFilter {
  /** VM uuid (exact). */
  uuid?: string;
  host?: string;
  openOnly?: boolean;
  limit?: number;
}

/** Allocations, newest first. */
export function listAllocations(store: Store, filter: AllocationFilter = {}): Allocation[] {
  // Only the conditions in use: `(@x IS NULL OR col = @x)` would keep SQLite off the indexes.
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit ?? -1 };
  if (filter.uuid !== undefined) {
    where.push('a.vm_uuid = @uuid');
    params.uuid = filter.uuid;
  }
  if (filter.host !== undefined) {
    where.push('h.name = @host');
    params.host = filter.host;
  }
  if (filter.openOnly) where.push('a.ended_at IS NULL');
  const rows = store
    .statement(
      `${SELECT_ALLOCATION} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY a.started_at DESC, a.id DESC LIMIT @limit`,
    )
    .all(params) as AllocationRow[];
  return rows.map(toAllocation);
}

/** Every VM we have records of, most recently seen first. */
export function listVms(store: Store): VmSummary[] {
  const rows = store
    .statement(
      `SELECT a.vm_uuid AS uuid,
              (SELECT vm_name FROM allocation b WHERE b.vm_uuid = a.vm_uuid ORDER BY started_at DESC, id DESC LIMIT 1) AS name,
              group_concat(DISTINCT h.name) AS hosts,
              count(*) AS allocations,
              min(a.started_at) AS first_seen,
              max(COALESCE(a.ended_at, a.started_at)) AS last_seen,
              max(CASE WHEN a.ended_at IS NULL THEN a.id END) AS open_id
       FROM allocation a JOIN host h ON h.id = a.host_id
       GROUP BY a.vm_uuid
       ORDER BY last_seen DESC`,
    )
    .all() as {
    uuid: string;
    name: string;
    hosts: string;
    allocations: number;
    first_seen: number;
    last_seen: number;
    open_id: number | null;
  }[];
  return rows.map((r) => ({
    uuid: r.uuid,
    name: r.name,
    hosts: r.hosts.split(',').sort(),
    allocations: r.allocations,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    running: r.open_id === null ? null : (getAllocation(store, r.open_id) ?? null),
  }));
}

/**
 * Resolve a VM reference (uuid or name) to a uuid. Throws UNKNOWN_VM when nothing
 * matches and AMBIGUOUS_VM when one name was used by several VMs.
 */
export function resolveVm(store: Store, ref: string): { uuid: string; name: string } {
  const byUuid = store
    .statement(
      'SELECT vm_uuid AS uuid, vm_name AS name FROM allocation WHERE vm_uuid = ? ORDER BY started_at DESC LIMIT 1',
    )
    .get(ref.toLowerCase()) as { uuid: string; name: string } | undefined;
  if (byUuid) return byUuid;
  const byName = store
    .statement('SELECT DISTINCT vm_uuid AS uuid, vm_name AS name FROM allocation WHERE vm_name = ?')
    .all(ref) as { uuid: string; name: string }[];
  if (byName.length === 1) return byName[0] as { uuid: string; name: string };
  if (byName.length > 1) {
    throw new SvirtAuditError(
      'AMBIGUOUS_VM',
      `${byName.length} VMs have been called "${ref}": ${byName.map((v) => v.uuid).join(', ')}`,
      'name the VM by its uuid',
    );
  }
  throw new SvirtAuditError(
    'UNKNOWN_VM',
    `no VM named or with uuid "${ref}" is recorded`,
    'list known VMs with: svirt-audit vms',
  );
}

/** How many allocations are open now (all hosts). */
export function countOpenAllocations(store: Store): number {
  return (store.statement('SELECT count(*) AS n FROM allocation WHERE ended_at IS NULL').get() as { n: number }).n;
}
