/**
 * Writing a host's shipped batch into the fleet: every stream's rows and the host's new
 * position in one transaction, so a batch is stored whole or not at all, and a batch sent
 * twice (the commit's answer lost, the shipper killed) stores nothing the second time:
 * events, denials, relabels and enforcing states are keyed by what they are (host, time,
 * serial or local id), allocations are updated in place.
 */

import {
  SHIPPED_ALLOCATION_COLUMNS,
  SHIPPED_DENIAL_COLUMNS,
  SHIPPED_DISK_COLUMNS,
  SHIPPED_EVENT_COLUMNS,
  SHIPPED_MAC_STATUS_COLUMNS,
  SHIPPED_RELABEL_COLUMNS,
  type ShipPosition,
  type ShippedBatch,
  type ShippedColumns,
  type ShippedRow,
  type ShippedValue,
  START_POSITION,
} from '../shipped-rows.js';
import type { FleetClient, FleetPool } from './connect.js';

/** The span fleet_ensure_partitions accepts (2000 … next month), with a day to spare for clocks. */
const EARLIEST = Date.parse('2000-01-01T00:00:00Z');
const LATEST_AHEAD_MS = 31 * 86_400_000;

/** INSERT … SELECT FROM unnest(arrays): one statement for a whole stream (times sent as ms). */
function unnestInsert(
  table: string,
  columns: ShippedColumns,
  extra: { column: string; sql: string }[],
  tail: string,
): string {
  const names = columns.map(([c]) => c);
  const arrays = columns.map(([, t], i) => `$${i + 2}::${t === 'timestamptz' ? 'bigint' : t}[]`);
  const values = columns.map(([c, t]) => (t === 'timestamptz' ? `fleet_time(u.${c})` : `u.${c}`));
  return `INSERT INTO ${table} (host, ${[...names, ...extra.map((e) => e.column)].join(', ')})
    SELECT $1, ${[...values, ...extra.map((e) => e.sql)].join(', ')}
    FROM unnest(${arrays.join(', ')}) AS u(${names.join(', ')}) ${tail}`;
}

const columnsOf = (rows: ShippedRow[], width: number): unknown[][] =>
  Array.from({ length: width }, (_, i) => rows.map((r) => r[i] ?? null));

const updateAll = (columns: ShippedColumns) =>
  columns
    .filter(([c]) => c !== 'local_id')
    .map(([c]) => `${c} = EXCLUDED.${c}`)
    .join(', ');

const INSERT_ALLOCATIONS = unnestInsert(
  'allocation',
  SHIPPED_ALLOCATION_COLUMNS,
  [],
  `ON CONFLICT (host, local_id) DO UPDATE SET ${updateAll(SHIPPED_ALLOCATION_COLUMNS)}`,
);
const INSERT_DISKS = unnestInsert('allocation_disk', SHIPPED_DISK_COLUMNS, [], '');
const INSERT_RELABELS = unnestInsert('relabel', SHIPPED_RELABEL_COLUMNS, [], 'ON CONFLICT DO NOTHING');
const INSERT_EVENTS = unnestInsert('event', SHIPPED_EVENT_COLUMNS, [], 'ON CONFLICT DO NOTHING');
const INSERT_DENIALS = unnestInsert(
  'denial',
  SHIPPED_DENIAL_COLUMNS,
  [
    {
      column: 'event_id',
      sql: '(SELECT e.id FROM event e WHERE e.host = $1 AND e.time = fleet_time(u.time) AND e.serial = u.serial)',
    },
  ],
  'ON CONFLICT DO NOTHING',
);
const INSERT_MAC_STATUS = unnestInsert('mac_status', SHIPPED_MAC_STATUS_COLUMNS, [], 'ON CONFLICT DO NOTHING');

/**
 * Months whose partitions this process has seen made, per database (partitions are
 * dropped only by `fleet prune`, for months long past): most batches skip the call.
 */
const partitionsMade = new Set<string>();

/** Where host `host` stands: what the fleet has of it. */
export async function readShipPosition(
  pool: FleetPool | FleetClient,
  host: string,
): Promise<ShipPosition & { newestTime: number; shippedAt: number | null }> {
  const r = await pool.query<{
    allocation_seq: number;
    relabel_id: number;
    event_id: number;
    denial_id: number;
    mac_status_id: number;
    newest_time: number | null;
    shipped_at: number;
  }>(
    `SELECT allocation_seq, relabel_id, event_id, denial_id, mac_status_id,
            fleet_ms(newest_time) AS newest_time, fleet_ms(shipped_at) AS shipped_at
     FROM ship_position WHERE host = $1`,
    [host],
  );
  const p = r.rows[0];
  if (!p) return { ...START_POSITION, newestTime: 0, shippedAt: null };
  return {
    allocationSeq: p.allocation_seq,
    relabelId: p.relabel_id,
    eventId: p.event_id,
    denialId: p.denial_id,
    macStatusId: p.mac_status_id,
    newestTime: p.newest_time ?? 0,
    shippedAt: p.shipped_at,
  };
}

export interface WrittenBatch {
  /** Rows the fleet did not have yet (a batch sent again writes none). */
  stored: number;
  /** Rows kept out and recorded in ship_refusal: allocations the engine refused (one_holder_per_label), records stamped outside 2000 … next month. */
  refused: number;
}

/** Store `batch` of `host` and move its position, in one transaction. */
export async function writeShippedBatch(
  client: FleetClient,
  host: string,
  batch: ShippedBatch,
  previousNewest: number,
): Promise<WrittenBatch> {
  await client.query('BEGIN');
  try {
    // No wait for the WAL flush: a server crash can lose the last batches, but each with its
    // position (one transaction), so the shipper, reconnecting, re-reads the older position
    // and sends them again from the host's file. Exactly once holds; a flush per batch and
    // host is saved (bench/fleet).
    await client.query('SET LOCAL synchronous_commit = off');
    let stored = 0;
    let refused = 0;
    // A record stamped outside the partitions the fleet makes (a host clock years off, a
    // forged line) is kept out and recorded, so it never stalls the host's shipping.
    const outside = (ms: ShippedValue) => (ms as number) < EARLIEST || (ms as number) > Date.now() + LATEST_AHEAD_MS;
    const events = batch.events.filter((e) => !outside(e[0] as number));
    const denials = batch.denials.filter((d) => !outside(d[1] as number));
    for (const [stream, rows, key, time] of [
      ['event', batch.events, 1, 0],
      ['denial', batch.denials, 0, 1],
    ] as const) {
      for (const row of rows.filter((r) => outside(r[time] as number))) {
        await client.query(
          `INSERT INTO ship_refusal (host, stream, local_id, reason) VALUES ($1, $2, $3, $4)
           ON CONFLICT (host, stream, local_id) DO NOTHING`,
          [
            host,
            stream,
            row[key],
            `its time ${new Date(row[time] as number).toISOString()} is outside 2000 … next month`,
          ],
        );
        refused++;
      }
    }
    const months = new Set<string>();
    for (const ms of [...events.map((e) => e[0]), ...denials.map((d) => d[1])])
      months.add(new Date(ms as number).toISOString().slice(0, 7));
    const database = `${client.host}:${client.port}/${client.database}`;
    const ensured: string[] = [];
    for (const month of months) {
      if (partitionsMade.has(`${database} ${month}`)) continue;
      await client.query('SELECT fleet_ensure_partitions($1::timestamptz)', [`${month}-01T00:00:00Z`]);
      ensured.push(`${database} ${month}`);
    }
    if (batch.allocations.length > 0) {
      const r = await insertAllocations(client, host, batch.allocations);
      stored += r.stored;
      refused += r.refused;
      // Each shipped allocation's disks as they are now: the old list goes, the new comes.
      await client.query('DELETE FROM allocation_disk WHERE host = $1 AND allocation_local_id = ANY($2::bigint[])', [
        host,
        batch.allocations.map((a) => a[0]),
      ]);
      if (batch.disks.length > 0)
        await client.query(INSERT_DISKS, [host, ...columnsOf(batch.disks, SHIPPED_DISK_COLUMNS.length)]);
    }
    const streams: [string, ShippedColumns, ShippedRow[]][] = [
      [INSERT_RELABELS, SHIPPED_RELABEL_COLUMNS, batch.relabels],
      [INSERT_EVENTS, SHIPPED_EVENT_COLUMNS, events],
      [INSERT_DENIALS, SHIPPED_DENIAL_COLUMNS, denials],
      [INSERT_MAC_STATUS, SHIPPED_MAC_STATUS_COLUMNS, batch.macStatus],
    ];
    for (const [sql, columns, rows] of streams) {
      if (rows.length === 0) continue;
      stored += (await client.query(sql, [host, ...columnsOf(rows, columns.length)])).rowCount ?? 0;
    }
    await client.query(
      `INSERT INTO ship_position AS p (host, allocation_seq, relabel_id, event_id, denial_id, mac_status_id, newest_time, shipped_at)
       VALUES ($1, $2, $3, $4, $5, $6, fleet_time($7), now())
       ON CONFLICT (host) DO UPDATE SET allocation_seq = EXCLUDED.allocation_seq, relabel_id = EXCLUDED.relabel_id,
         event_id = EXCLUDED.event_id, denial_id = EXCLUDED.denial_id, mac_status_id = EXCLUDED.mac_status_id,
         newest_time = EXCLUDED.newest_time, shipped_at = now()`,
      [
        host,
        batch.allocationSeq,
        batch.relabelId,
        batch.eventId,
        batch.denialId,
        batch.macStatusId,
        Math.max(previousNewest, batch.newestTime) || null,
      ],
    );
    await client.query('COMMIT');
    for (const key of ensured) partitionsMade.add(key);
    return { stored, refused };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    // No partition for a row (the administrator pruned that month): look again next time.
    if ((error as { code?: string }).code === '23514') partitionsMade.clear();
    throw error;
  }
}

/**
 * Allocations in one statement; if the engine refuses one (it overlaps another holder of
 * its label: the host's own file broke the invariant), each is tried alone and the
 * refused ones are recorded, so one bad row never stops the host's shipping.
 */
async function insertAllocations(client: FleetClient, host: string, rows: ShippedRow[]): Promise<WrittenBatch> {
  await client.query('SAVEPOINT allocations');
  try {
    const r = await client.query(INSERT_ALLOCATIONS, [host, ...columnsOf(rows, SHIPPED_ALLOCATION_COLUMNS.length)]);
    return { stored: r.rowCount ?? 0, refused: 0 };
  } catch (error) {
    if ((error as { code?: string }).code !== '23P01') throw error;
    await client.query('ROLLBACK TO SAVEPOINT allocations');
  }
  let stored = 0;
  let refused = 0;
  for (const row of rows) {
    await client.query('SAVEPOINT one_allocation');
    try {
      stored +=
        (await client.query(INSERT_ALLOCATIONS, [host, ...columnsOf([row], SHIPPED_ALLOCATION_COLUMNS.length)]))
          .rowCount ?? 0;
    } catch (error) {
      if ((error as { code?: string }).code !== '23P01') throw error;
      await client.query('ROLLBACK TO SAVEPOINT one_allocation');
      await client.query(
        `INSERT INTO ship_refusal (host, stream, local_id, reason) VALUES ($1, 'allocation', $2, $3)
         ON CONFLICT (host, stream, local_id) DO NOTHING`,
        [host, row[0], (error as Error).message],
      );
      refused++;
    }
  }
  return { stored, refused };
}
