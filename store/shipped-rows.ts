/**
 * What a host ships to the fleet's PostgreSQL, read from its SQLite file: four streams,
 * each read after the position the fleet last acknowledged. Events, denials and relabels
 * are appended and never change, so their local ids are positions; allocations change
 * (they end, their pid is learned), so they follow `allocation_change` (migration 0012)
 * and are sent as they are now. Only the rows of one host are shipped: the fleet lets a
 * host's role write its own rows and no others.
 *
 * The columns of each stream are listed once, with their PostgreSQL types: the SELECT
 * here and the INSERT of store/postgres/fleet-writes.ts are both derived from the lists.
 */

import { eventRawText, RAW_COLUMNS, type RawRef } from './raw-blocks.js';
import type { Store } from './store.js';

export type PgType = 'bigint' | 'integer' | 'smallint' | 'text' | 'timestamptz';

/** [column, PostgreSQL type]; `timestamptz` columns are milliseconds here. */
export type ShippedColumns = readonly (readonly [string, PgType])[];

export const SHIPPED_ALLOCATION_COLUMNS = [
  ['local_id', 'bigint'],
  ['vm_uuid', 'text'],
  ['vm_name', 'text'],
  ['model', 'text'],
  ['label', 'text'],
  ['image_label', 'text'],
  ['categories', 'text'],
  ['pid', 'integer'],
  ['source', 'text'],
  ['started_at', 'timestamptz'],
  ['ended_at', 'timestamptz'],
  ['recorded_at', 'timestamptz'],
] as const satisfies ShippedColumns;

/** The expected disks of the allocations shipped (all of each, in the definition's order). */
export const SHIPPED_DISK_COLUMNS = [
  ['allocation_local_id', 'bigint'],
  ['ordinal', 'integer'],
  ['path', 'text'],
  ['mode', 'text'],
  ['expected_label', 'text'],
  ['relabel', 'smallint'],
] as const satisfies ShippedColumns;

export const SHIPPED_RELABEL_COLUMNS = [
  ['local_id', 'bigint'],
  ['allocation_local_id', 'bigint'],
  ['path', 'text'],
  ['label_before', 'text'],
  ['label_after', 'text'],
  ['action', 'text'],
  ['error', 'text'],
  ['at', 'timestamptz'],
] as const satisfies ShippedColumns;

export const SHIPPED_EVENT_COLUMNS = [
  ['time', 'timestamptz'],
  ['serial', 'bigint'],
  ['types', 'text'],
  ['raw', 'text'],
] as const satisfies ShippedColumns;

/** The columns of the SQLite view `denial`, as the fleet keeps them (one wide row). */
export const SHIPPED_DENIAL_COLUMNS = [
  ['local_id', 'bigint'],
  ['time', 'timestamptz'],
  ['serial', 'bigint'],
  ['model', 'text'],
  ['record_type', 'text'],
  ['granted', 'smallint'],
  ['permissive', 'smallint'],
  ['perms', 'text'],
  ['tclass', 'text'],
  ['scontext', 'text'],
  ['stype', 'text'],
  ['scategories', 'text'],
  ['spid', 'integer'],
  ['scomm', 'text'],
  ['sexe', 'text'],
  ['tcontext', 'text'],
  ['ttype', 'text'],
  ['tcategories', 'text'],
  ['tpath', 'text'],
  ['tname', 'text'],
  ['tdev', 'text'],
  ['tinode', 'bigint'],
  ['aa_profile', 'text'],
  ['aa_child', 'text'],
  ['aa_operation', 'text'],
  ['aa_requested', 'text'],
  ['aa_denied', 'text'],
  ['aa_fsuid', 'bigint'],
  ['aa_ouid', 'bigint'],
  ['aa_info', 'text'],
  ['aa_error', 'text'],
  ['syscall', 'integer'],
  ['syscall_success', 'smallint'],
  ['syscall_exit', 'bigint'],
  ['auid', 'bigint'],
  ['uid', 'bigint'],
  ['proctitle', 'text'],
] as const satisfies ShippedColumns;

export const SHIPPED_MAC_STATUS_COLUMNS = [
  ['time', 'timestamptz'],
  ['enforcing', 'smallint'],
] as const satisfies ShippedColumns;

export type ShippedValue = string | number | null;
/** Rows as arrays in their list's order. */
export type ShippedRow = ShippedValue[];

export interface ShippedBatch {
  /** Allocations changed after the position, as they are now; `allocationSeq` is the last change read. */
  allocations: ShippedRow[];
  /** Every expected disk of those allocations. */
  disks: ShippedRow[];
  allocationSeq: number;
  relabels: ShippedRow[];
  relabelId: number;
  events: ShippedRow[];
  eventId: number;
  denials: ShippedRow[];
  denialId: number;
  macStatus: ShippedRow[];
  macStatusId: number;
  /** The newest audit time among the events and denials read (0 when none). */
  newestTime: number;
}

export interface ShipPosition {
  allocationSeq: number;
  relabelId: number;
  eventId: number;
  denialId: number;
  macStatusId: number;
}

export const START_POSITION: ShipPosition = { allocationSeq: 0, relabelId: 0, eventId: 0, denialId: 0, macStatusId: 0 };

const names = (columns: ShippedColumns, alias: string, renames: Record<string, string> = {}) =>
  columns.map(([c]) => `${alias}.${renames[c] ?? c}`).join(', ');

/**
 * The next rows of host `hostId` after `from`, at most `limit` per stream. Events and
 * denials are read up to the same event: a denial never arrives before its event.
 */
export function readShippedBatch(store: Store, hostId: number, from: ShipPosition, limit: number): ShippedBatch {
  return store.transaction(() => {
    const changes = store
      .statement(
        `SELECT max(c.seq) AS seq, c.allocation_id FROM allocation_change c
         WHERE c.seq > ? GROUP BY c.allocation_id ORDER BY seq LIMIT ?`,
      )
      .all(from.allocationSeq, limit) as { seq: number; allocation_id: number }[];
    const allocationSeq =
      changes.length > 0 ? (changes[changes.length - 1] as { seq: number }).seq : from.allocationSeq;
    const allocations =
      changes.length === 0
        ? []
        : allocationRows(
            store,
            hostId,
            changes.map((c) => c.allocation_id),
          );
    const disks = allocations.flatMap((a) =>
      (
        store
          .rawStatement(
            'SELECT path, mode, expected_label, relabel FROM allocation_disk WHERE allocation_id = ? ORDER BY rowid',
          )
          .all(a[0]) as ShippedRow[]
      ).map((d, i) => [a[0] as number, i, ...d]),
    );

    const relabels = rows(
      store,
      `SELECT ${names(SHIPPED_RELABEL_COLUMNS, 'r', { local_id: 'id', allocation_local_id: 'allocation_id' })}
       FROM relabel r JOIN allocation a ON a.id = r.allocation_id
       WHERE r.id > ? AND a.host_id = ? ORDER BY r.id LIMIT ?`,
      from.relabelId,
      hostId,
      limit,
    );
    const eventRows = store
      .statement(
        `SELECT e.id, e.time, e.serial, e.types, ${RAW_COLUMNS} FROM event e
         WHERE e.id > ? AND e.host_id = ? ORDER BY e.id LIMIT ?`,
      )
      .all(from.eventId, hostId, limit) as ({ id: number; time: number; serial: number; types: string } & RawRef)[];
    const lastEvent = eventRows[eventRows.length - 1];
    const events = eventRows.map((e) => [e.time, e.serial, e.types, eventRawText(store, e)]);
    const eventId = lastEvent?.id ?? from.eventId;
    const denials = rows(
      store,
      `SELECT d.id AS local_id, ${names(SHIPPED_DENIAL_COLUMNS.slice(1), 'd')} FROM denial d
       WHERE d.id > ? AND d.host_id = ? AND d.event_id <= ? ORDER BY d.id LIMIT ?`,
      from.denialId,
      hostId,
      eventId,
      limit,
    );
    const macStatus = store
      .statement(
        `SELECT m.rowid AS id, m.time, m.enforcing FROM mac_status m
         WHERE m.rowid > ? AND m.host_id = ? ORDER BY m.rowid LIMIT ?`,
      )
      .all(from.macStatusId, hostId, limit) as { id: number; time: number; enforcing: number | null }[];
    const lastDenial = denials[denials.length - 1];
    const lastRelabel = relabels[relabels.length - 1];
    return {
      allocations,
      disks,
      allocationSeq,
      relabels,
      relabelId: lastRelabel ? (lastRelabel[0] as number) : from.relabelId,
      events,
      eventId,
      denials,
      denialId: lastDenial ? (lastDenial[0] as number) : from.denialId,
      macStatus: macStatus.map((m) => [m.time, m.enforcing]),
      macStatusId: macStatus[macStatus.length - 1]?.id ?? from.macStatusId,
      newestTime: Math.max(0, lastEvent?.time ?? 0, lastDenial ? (lastDenial[1] as number) : 0),
    };
  });
}

function rows(store: Store, sql: string, ...params: unknown[]): ShippedRow[] {
  return store.rawStatement(sql).all(...params) as ShippedRow[];
}

function allocationRows(store: Store, hostId: number, ids: number[]): ShippedRow[] {
  const out: ShippedRow[] = [];
  const stmt = store.rawStatement(
    `SELECT a.id AS local_id, ${names(SHIPPED_ALLOCATION_COLUMNS.slice(1), 'a')} FROM allocation a
       WHERE a.id = ? AND a.host_id = ?`,
  );
  for (const id of ids) {
    const row = stmt.get(id, hostId) as ShippedRow | undefined;
    if (row) out.push(row);
  }
  return out;
}

/**
 * What this host's store holds beyond `position`: rows per stream not shipped yet (each a
 * range scan of ids after the position, exact when other hosts' rows are interleaved),
 * and the audit times of its newest and oldest events.
 */
export function localLag(
  store: Store,
  hostId: number,
  position: ShipPosition,
): { rows: number; newestTime: number; oldestTime: number } {
  const n = (sql: string, ...params: unknown[]) => (store.statement(sql).get(...params) as { n: number | null }).n ?? 0;
  const rows =
    n(
      'SELECT count(DISTINCT c.allocation_id) AS n FROM allocation_change c JOIN allocation a ON a.id = c.allocation_id WHERE c.seq > ? AND a.host_id = ?',
      position.allocationSeq,
      hostId,
    ) +
    n(
      'SELECT count(*) AS n FROM relabel r JOIN allocation a ON a.id = r.allocation_id WHERE r.id > ? AND a.host_id = ?',
      position.relabelId,
      hostId,
    ) +
    n('SELECT count(*) AS n FROM event WHERE id > ? AND host_id = ?', position.eventId, hostId) +
    n('SELECT count(*) AS n FROM denial_row WHERE id > ? AND host_id = ?', position.denialId, hostId);
  return {
    rows,
    newestTime: n('SELECT max(time) AS n FROM event WHERE host_id = ?', hostId),
    oldestTime: n('SELECT min(time) AS n FROM event WHERE host_id = ?', hostId),
  };
}
