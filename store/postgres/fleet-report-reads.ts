/**
 * What an incident report reads (store/report-reads.ts), over the fleet's PostgreSQL: a
 * VM's allocations, denials and evidence on every host it ran on. The long lists are read
 * a keyset page at a time, each page one query on any pooled connection: a report of any
 * size streams in constant memory, and a client that reads slowly holds no connection.
 */

import type { Allocation, RelabelAction } from '../../core/allocation.js';
import type { AttributedDenial } from '../../core/attributed-denial.js';
import type { EventEvidence, MacStatusChange } from '../audit-trail.js';
import type { DenialTuple } from '../denial-rows.js';
import type { ReportReads, ReportWindow } from '../report-reads.js';
import type { FleetPool } from './connect.js';
import {
  byModel,
  decodeRows,
  fleetAllocations,
  fleetExplain,
  fleetResolveVm,
  fleetSummary,
  labelledAllocations,
  selectList,
  vmJoin,
} from './fleet-reads.js';

/** Rows per page: large enough to amortize the round trip, small enough to hold. */
const DEFAULT_PAGE_ROWS = 1000;

/** The VM's labelled allocations, oldest first: the order a report lists their denials in. */
async function vmAllocations(pool: FleetPool, uuid: string): Promise<Allocation[]> {
  return labelledAllocations(await fleetAllocations(pool, { uuid })).sort(
    (a, b) => a.startedAt - b.startedAt || a.id - b.id,
  );
}

const bounds = (window: ReportWindow) => ({
  since: window.since ?? 0,
  until: window.until ?? Number.MAX_SAFE_INTEGER,
});

function placeholders(): { params: unknown[]; p: (v: unknown) => string } {
  const params: unknown[] = [];
  return {
    params,
    p: (v) => {
      params.push(v);
      return `$${params.length}`;
    },
  };
}

async function* vmDenials(
  pool: FleetPool,
  uuid: string,
  window: ReportWindow,
  pageRows: number,
): AsyncGenerator<AttributedDenial> {
  const { since, until } = bounds(window);
  const allocations = await vmAllocations(pool, uuid);
  for (const allocation of allocations) {
    let after: { time: number; id: number } | undefined;
    for (;;) {
      const { params, p } = placeholders();
      const keyset = after
        ? ` AND d.time >= fleet_time(${p(after.time)}) AND (d.time, d.id) > (fleet_time(${p(after.time)}), ${p(after.id)})`
        : '';
      const text = `SELECT ${selectList('a.id')} ${vmJoin([allocation], p, since, until)} AND d.granted = 0${keyset}
        ORDER BY d.time, d.id LIMIT ${pageRows}`;
      const rows = (await pool.query({ text, values: params, rowMode: 'array' })).rows as unknown as DenialTuple[];
      const page = await decodeRows(pool, rows, allocations);
      yield* page;
      const last = page[page.length - 1];
      if (rows.length < pageRows || !last) break;
      after = { time: last.time, id: last.id };
    }
  }
}

type EventRow = { id: number; host: string; time: number; serial: number; raw: string };

async function* vmEvidence(
  pool: FleetPool,
  uuid: string,
  window: ReportWindow,
  pageRows: number,
): AsyncGenerator<EventEvidence> {
  const { since, until } = bounds(window);
  for (const allocation of await vmAllocations(pool, uuid)) {
    let after: { time: number; serial: number } | undefined;
    for (;;) {
      const { params, p } = placeholders();
      const keyset = after
        ? ` AND d.time >= fleet_time(${p(after.time)}) AND (d.time, d.serial) > (fleet_time(${p(after.time)}), ${p(after.serial)})`
        : '';
      // The next page of the allocation's denials' events, each once (an event may hold several).
      const text = `SELECT e.id, e.host, fleet_ms(e.time) AS time, e.serial, e.raw
        FROM (SELECT DISTINCT d.time, d.serial ${vmJoin([allocation], p, since, until)} AND d.granted = 0${keyset}
              ORDER BY d.time, d.serial LIMIT ${pageRows}) k
        JOIN event e ON e.host = ${p(allocation.host)} AND e.time = k.time AND e.serial = k.serial
        ORDER BY e.time, e.id`;
      const rows = (await pool.query<EventRow>(text, params)).rows;
      for (const row of rows)
        yield {
          eventId: row.id,
          host: row.host,
          time: row.time,
          serial: row.serial,
          records: row.raw.split('\n'),
          // Hosts ship the records, not the file they read them from.
          sourcePath: null,
          sourceOffset: null,
        };
      if (rows.length < pageRows) break;
      after = rows.reduce((a, r) => (r.time > a.time || (r.time === a.time && r.serial > a.serial) ? r : a));
    }
  }
}

async function vmDenialSpan(
  pool: FleetPool,
  uuid: string,
  window: ReportWindow,
): Promise<{ first: number; last: number } | undefined> {
  const { since, until } = bounds(window);
  let first: number | undefined;
  let last: number | undefined;
  for (const group of byModel(await vmAllocations(pool, uuid))) {
    const { params, p } = placeholders();
    const r = await pool.query<{ first: number | null; last: number | null }>(
      `SELECT fleet_ms(min(d.time)) AS first, fleet_ms(max(d.time)) AS last ${vmJoin(group, p, since, until)}
         AND d.granted = 0`,
      params,
    );
    const row = r.rows[0];
    if (row?.first != null) first = first === undefined ? row.first : Math.min(first, row.first);
    if (row?.last != null) last = last === undefined ? row.last : Math.max(last, row.last);
  }
  return first === undefined || last === undefined ? undefined : { first, last };
}

async function macStatusHistory(
  pool: FleetPool,
  host: string,
  since: number,
  until: number,
): Promise<MacStatusChange[]> {
  const r = await pool.query<{ time: number; enforcing: number | null }>(
    `(SELECT fleet_ms(time) AS time, enforcing FROM mac_status
       WHERE host = $1 AND time < fleet_time($2) ORDER BY time DESC LIMIT 1)
     UNION ALL
     (SELECT fleet_ms(time), enforcing FROM mac_status
       WHERE host = $1 AND time >= fleet_time($2) AND time < fleet_time($3))
     ORDER BY time`,
    [host, since, Math.min(until, 8.64e15)],
  );
  return r.rows.map((row) => ({
    host,
    time: row.time,
    enforcing: row.enforcing === null ? null : row.enforcing === 1,
  }));
}

async function relabels(pool: FleetPool, allocation: Allocation): Promise<RelabelAction[]> {
  const r = await pool.query<RelabelAction>(
    `SELECT r.local_id AS id, a.id AS "allocationId", r.path, r.label_before AS "labelBefore",
            r.label_after AS "labelAfter", r.action, r.error, fleet_ms(r.at) AS at
     FROM allocation a JOIN relabel r ON r.host = a.host AND r.allocation_local_id = a.local_id
     WHERE a.id = $1 ORDER BY r.at, r.local_id`,
    [allocation.id],
  );
  return r.rows;
}

export function fleetReportReads(pool: FleetPool, pageRows = DEFAULT_PAGE_ROWS): ReportReads {
  return {
    resolveVm: (ref) => fleetResolveVm(pool, ref),
    allocations: (uuid) => fleetAllocations(pool, { uuid }),
    denialSpan: (uuid, window) => vmDenialSpan(pool, uuid, window),
    denials: (uuid, window) => vmDenials(pool, uuid, window, pageRows),
    summarize: (uuid, name, window) => fleetSummary(pool, uuid, name, window),
    explanation: async (id) => (await fleetExplain(pool, id))?.explanation,
    macStatusHistory: (host, since, until) => macStatusHistory(pool, host, since, until),
    // Holds keep a host's own records from its retention; the fleet's retention drops whole months.
    holdsCovering: async () => [],
    prunedBefore: async () => {
      const r = await pool.query<{ t: number | null }>('SELECT fleet_ms(pruned_before) AS t FROM fleet_prune');
      return r.rows[0]?.t ?? null;
    },
    relabels: (allocation) => relabels(pool, allocation),
    evidence: (uuid, window) => vmEvidence(pool, uuid, window, pageRows),
  };
}
