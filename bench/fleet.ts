/**
 * bench/fleet: the fleet on one PostgreSQL on this machine.
 *
 * 1. Shipping lag: 20 simulated hosts, each storing 1,000 lines/s (audit time = wall time)
 *    in its own SQLite file through the collector's parser and writer, and shipping with
 *    its own shipper, all in this process. Every 250 ms each host's lag is sampled: the
 *    audit time between its newest stored event and the newest the fleet has (what
 *    /healthz reports). Target: p99 < 2 s.
 * 2. Answers at 5,000,000 denials: bench/query's store (1,000,000 denials, 500 VMs, host
 *    hv1) shipped to the fleet (throughput measured), then its allocations and denials
 *    copied as hosts hv2 … hv5 (each VM runs on all five). autocannon, 50 connections, on
 *    `GET /v1/vms/:ref/summary` (just after a first start, steady, and just after a restart,
 *    when the summaries saved at stop are read) and `GET /v1/denials?since=…` (the data's
 *    last 24 h) against
 *    `serve --store` (the central server), beside the same routes on `serve` over one
 *    host's SQLite (bench/query's store). Target: p99 < 100 ms.
 *
 * Needs PostgreSQL with a superuser login for this OS user over /var/run/postgresql
 * (.ci/run sets that up) and bench/query's store.
 * Run: npm run build && node dist/bench/query.js (once) && node dist/bench/fleet.js [seconds=20] [lag: the first part only]
 */

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { Shipper } from '../fleet/shipper.js';
import { openFleet } from '../store/postgres/connect.js';
import { addFleetHost, addFleetReader } from '../store/postgres/fleet-hosts.js';
import { AuditStream } from '../collector/audit-stream.js';
import { StoreWriter } from '../collector/store-writer.js';
import { openStore, type Store } from '../store/store.js';
import { copyQueryStore, startListening, startServe } from './serve-under-load.js';
import { formatRow, percentile, systemLine } from './system-line.js';

const seconds = Number(process.argv[2] ?? 20);
const HOSTS = 20;
const SOCKET = '/var/run/postgresql';
const admin = (db: string) => `postgres://${userInfo().username}@/${db}?host=${encodeURIComponent(SOCKET)}`;
const roleUrl = (role: string, db: string) => `postgres://${role}:pw@127.0.0.1:5432/${db}`;

async function sql(db: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: admin(db) });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

async function freshFleet(name: string): Promise<void> {
  for (const group of ['svirt_audit_host', 'svirt_audit_reader'])
    await sql('postgres', `CREATE ROLE ${group} NOLOGIN`).catch(() => undefined);
  await sql('postgres', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await sql('postgres', `CREATE DATABASE ${name}`);
  await (await openFleet(admin(name), { migrate: true })).end();
}

async function withAdmin<T>(db: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = await openFleet(admin(db));
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

try {
  await sql('postgres', 'SELECT 1');
} catch (error) {
  console.log(`skipped: no PostgreSQL superuser login over ${SOCKET} (${(error as Error).message})`);
  process.exit(0);
}

// ---- 1. shipping lag: 20 hosts at 1,000 lines/s each -------------------------------------

const LAG_DB = 'svirt_bench_fleet_lag';
await freshFleet(LAG_DB);
const dir = join('/tmp', `svirt-bench-fleet-${process.pid}`);
mkdirSync(dir, { recursive: true });
interface Host {
  name: string;
  store: Store;
  stream: AuditStream;
  writer: StoreWriter;
  shipper: Shipper;
  serial: number;
}
// The hosts' collectors are simulated in this process: each host's records go straight
// into its own SQLite file through the collector's parser and writer (no file to follow),
// and its shipper sends them on, as `serve --ship-to` does. One Node thread carries all
// twenty hosts here (each has its own CPU in life); PostgreSQL gets the other core.
const hosts: Host[] = [];
for (let h = 0; h < HOSTS; h++) {
  const name = `bench-h${h}`;
  const role = `svirt_bench_h${h}`;
  await withAdmin(LAG_DB, (pool) => addFleetHost(pool, name, role, 'pw'));
  const store = openStore(join(dir, `${name}.db`), { durability: 'normal' });
  const writer = new StoreWriter(store, { localHost: name, sourceId: null });
  const shipper = new Shipper(store, { url: roleUrl(role, LAG_DB), pollMs: 100 });
  await shipper.connect();
  shipper.start();
  hosts.push({ name, store, stream: new AuditStream(writer), writer, shipper, serial: 0 });
}

/** 100 lines (50 AVC + EOE events) per host every 100 ms: 1,000 lines/s each, committed as a batch. */
const feed = setInterval(() => {
  for (const h of hosts) {
    let text = '';
    for (let i = 0; i < 50; i++) {
      h.serial++;
      const t = Date.now();
      const stamp = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${h.serial}`;
      text += `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=9 comm="qemu-kvm" name="f" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:c${h.serial % 500},c${500 + (h.serial % 500)} tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\ntype=EOE msg=audit(${stamp}):\n`;
    }
    h.stream.push(Buffer.from(text));
    h.writer.flush(null);
    h.shipper.nudge();
  }
}, 100);
const lags: number[] = [];
const sampler = setInterval(() => {
  for (const h of hosts) lags.push(h.shipper.status().lagSeconds);
}, 250);
const started = Date.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
clearInterval(feed);
const written = hosts.reduce((n, h) => n + h.serial, 0);
const elapsed = (Date.now() - started) / 1000;
// Drained: every host's shipper caught up.
const drainStart = Date.now();
while (hosts.some((h) => h.shipper.status().lagRows > 0)) await new Promise((resolve) => setTimeout(resolve, 100));
const drainMs = Date.now() - drainStart;
clearInterval(sampler);
for (const h of hosts) {
  await h.shipper.stop();
  h.store.close();
}
const inFleet = Number((await sql(LAG_DB, 'SELECT count(*) AS n FROM event')).rows[0].n);
const sorted = [...lags].sort((a, b) => a - b);
rmSync(dir, { recursive: true, force: true });

console.log(
  formatRow(
    ['shipping: 20 hosts × 1,000 lines/s', 'lines/s', 'lag p50 s', 'lag p99 s', 'lag max s', 'drain s'],
    [36, 10, 10, 10, 10, 8],
  ),
);
console.log(
  formatRow(
    [
      `${written} events written, ${inFleet} in the fleet`,
      ((written * 2) / elapsed).toFixed(0),
      percentile(sorted, 50).toFixed(2),
      percentile(sorted, 99).toFixed(2),
      (sorted[sorted.length - 1] ?? 0).toFixed(2),
      (drainMs / 1000).toFixed(1),
    ],
    [36, 10, 10, 10, 10, 8],
  ),
);
if (process.argv[3] === 'lag') {
  await sql('postgres', `DROP DATABASE IF EXISTS ${LAG_DB} WITH (FORCE)`);
  process.exit(0);
}

// ---- 2. answers at 5,000,000 denials --------------------------------------------------

const QUERY_DB = 'svirt_bench_fleet_query';
await freshFleet(QUERY_DB);
const bench = copyQueryStore('svirt-bench-fleet-');
await withAdmin(QUERY_DB, async (pool) => {
  await addFleetHost(pool, 'hv1', 'svirt_bench_hv1', 'pw');
  await addFleetReader(pool, 'svirt_bench_reader', 'pw');
});
const local = openStore(bench.db, { durability: 'normal' });
const shipStart = Date.now();
const shipper = new Shipper(local, { url: roleUrl('svirt_bench_hv1', QUERY_DB) });
await shipper.drain();
const shipped = shipper.status().shipped.rows;
await shipper.stop();
const shipSeconds = (Date.now() - shipStart) / 1000;
local.close();
// hv2 … hv5: the same history on four more hosts (as the fleet's owner, who may).
const copyStart = Date.now();
for (let n = 2; n <= 5; n++) {
  await sql(QUERY_DB, `INSERT INTO fleet_host (name, role) VALUES ('hv${n}', 'svirt_bench_none_${n}')`);
  await sql(
    QUERY_DB,
    `INSERT INTO allocation (host, local_id, vm_uuid, vm_name, model, label, image_label, categories, pid, source, started_at, ended_at, recorded_at)
     SELECT $1, local_id, vm_uuid, vm_name, model, label, image_label, categories, pid, source, started_at, ended_at, recorded_at
     FROM allocation WHERE host = 'hv1'`,
    [`hv${n}`],
  );
  const columns = (
    await sql(
      QUERY_DB,
      `SELECT string_agg(column_name, ', ' ORDER BY ordinal_position) AS c FROM information_schema.columns
       WHERE table_name = 'denial' AND column_name NOT IN ('id', 'host')`,
    )
  ).rows[0].c as string;
  await sql(QUERY_DB, `INSERT INTO denial (host, ${columns}) SELECT $1, ${columns} FROM denial WHERE host = 'hv1'`, [
    `hv${n}`,
  ]);
}
await sql(QUERY_DB, 'ANALYZE');
const copySeconds = (Date.now() - copyStart) / 1000;
const stored = Number((await sql(QUERY_DB, 'SELECT count(*) AS n FROM denial')).rows[0].n);

function startFleetServe(): Promise<{ child: ChildProcess; url: string }> {
  return startListening([
    'serve',
    '--store',
    roleUrl('svirt_bench_reader', QUERY_DB),
    '--listen',
    '127.0.0.1:0',
    '--log-level',
    'error',
    '--db',
    join(bench.dir, 'unused.db'),
  ]);
}

const uuid = (v: number) => `00000000-0000-4000-8000-${String(v).padStart(12, '0')}`;
const LAST_DAY = '2026-11-21T00:00:00Z';
async function load(base: string, path: (i: number) => string) {
  let i = 0;
  return autocannon({
    url: base,
    connections: 50,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(i++) }) }],
  });
}
// The summary twice: just after the server starts (its cache still warming), then steady.
const routes: [string, (i: number) => string][] = [
  ['GET /v1/vms/:ref/summary (first start)', (i) => `/v1/vms/${uuid(i % 500)}/summary`],
  ['GET /v1/vms/:ref/summary (steady)', (i) => `/v1/vms/${uuid(i % 500)}/summary`],
  ['GET /v1/denials?since=(last 24 h)', () => `/v1/denials?since=${LAST_DAY}`],
];
const results: { title: string; r: autocannon.Result }[] = [];
for (const [label, start] of [
  ['fleet, 5 hosts, PostgreSQL', startFleetServe],
  ['one host, SQLite', () => startServe(bench)],
] as const) {
  const { child, url } = await start();
  for (const [route, path] of routes) results.push({ title: `${route} — ${label}`, r: await load(url, path) });
  child.kill('SIGTERM');
  await once(child, 'exit');
  // Again after a restart: both save their summaries at stop and read them at start.
  const again = await start();
  results.push({
    title: `GET /v1/vms/:ref/summary (after a restart) — ${label}`,
    r: await load(again.url, (i) => `/v1/vms/${uuid(i % 500)}/summary`),
  });
  again.child.kill('SIGTERM');
  await once(again.child, 'exit');
}
rmSync(bench.dir, { recursive: true, force: true });

console.log(
  `shipping bench/query's store: ${shipped} rows (1,000,000 events + 1,000,000 denials + allocations) in ${shipSeconds.toFixed(1)} s = ${(shipped / shipSeconds).toFixed(0)} rows/s; copied to hv2…hv5 in ${copySeconds.toFixed(1)} s; ${stored} denials stored`,
);
const widths = [68, 10, 10, 10, 8];
console.log(formatRow(['route (50 connections)', 'req/s', 'p50 ms', 'p99 ms', 'errors'], widths));
for (const { title, r } of results)
  console.log(
    formatRow(
      [title, r.requests.average.toFixed(0), String(r.latency.p50), String(r.latency.p99), String(r.errors + r.non2xx)],
      widths,
    ),
  );
console.log("targets: shipping lag p99 < 2 s; fleet answers p99 < 100 ms (peer: the same routes on one host's SQLite)");
console.log(systemLine());
for (const db of [LAG_DB, QUERY_DB]) await sql('postgres', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
for (let h = 0; h < HOSTS; h++) await sql('postgres', `DROP ROLE IF EXISTS svirt_bench_h${h}`);
for (const r of ['svirt_bench_hv1', 'svirt_bench_reader']) await sql('postgres', `DROP ROLE IF EXISTS ${r}`);
