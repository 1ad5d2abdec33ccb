/**
 * Shipping a host's records to the fleet's real PostgreSQL: exactly once, changes to
 * allocations followed, the lag told, bad rows kept out without stalling, and what the
 * engine itself enforces: a host's role writes only its own rows, one holder per label,
 * retention by whole months.
 */

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { Shipper } from '../../fleet/shipper.js';
import { findOpenAllocation, endAllocation } from '../../store/allocations.js';
import { openFleet } from '../../store/postgres/connect.js';
import { addFleetHost } from '../../store/postgres/fleet-hosts.js';
import { pruneFleet } from '../../store/postgres/fleet-retention.js';
import { fleetReportReads } from '../../store/postgres/fleet-report-reads.js';
import { buildFleetScenario, shipFleetScenario } from '../helpers/fleet-scenario.js';
import { INCIDENT_VMS } from '../helpers/incident-scenario.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/postgres.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NOW = Date.now();
const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/fleet: skipped: ${unavailable}`);
const run = unavailable ? it.skip : it;

let t: TempStore;
let db: TestDatabase;
let urls: { hosts: Record<string, string>; reader: string };

beforeAll(async () => {
  if (unavailable) return;
  t = openTempStore();
  await buildFleetScenario(t.store, t.dir, NOW);
  db = await createTestDatabase();
  urls = await shipFleetScenario(t.store, db);
}, 60_000);

afterAll(async () => {
  await db?.drop();
  t?.cleanup();
});

async function fleetQuery<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const count = async (table: string, host: string) =>
  Number(
    (await fleetQuery<{ n: string }>(db.adminUrl, `SELECT count(*) AS n FROM ${table} WHERE host = $1`, [host]))[0]?.n,
  );
const local = (sql: string, host: string) =>
  (t.store.db.prepare(`${sql} (SELECT id FROM host WHERE name = ?)`).get(host) as { n: number }).n;

async function ship(host: string, options: { host?: string } = {}) {
  const shipper = new Shipper(t.store, { url: urls.hosts[host] as string, ...options });
  try {
    await shipper.drain();
    return shipper.status();
  } finally {
    await shipper.stop();
  }
}

describe('exactly once', () => {
  run('the fleet holds every event, denial, allocation and relabel of each host, once', async () => {
    for (const host of ['hv1', 'hv2']) {
      expect(await count('event', host)).toBe(local('SELECT count(*) AS n FROM event WHERE host_id =', host));
      expect(await count('denial', host)).toBe(local('SELECT count(*) AS n FROM denial_row WHERE host_id =', host));
      expect(await count('allocation', host)).toBe(local('SELECT count(*) AS n FROM allocation WHERE host_id =', host));
    }
    expect(await count('relabel', 'hv1')).toBe(1);
  });

  run('shipping again stores nothing; new records ship alone; the lag is told until then', async () => {
    expect((await ship('hv1')).shipped.rows).toBe(0);
    const before = await count('event', 'hv1');
    const log = join(t.dir, 'more.log');
    writeFileSync(log, eventsText(1, 300, 'hv1'));
    await ingestFiles(t.store, [log], { localHost: 'hv1' });
    const shipper = new Shipper(t.store, { url: urls.hosts.hv1 as string });
    try {
      await shipper.connect();
      expect(shipper.status().lagRows).toBe(600); // 300 events, 300 denials
      await shipper.drain();
      expect(shipper.status()).toMatchObject({ lagRows: 0, lagSeconds: 0, shipped: { rows: 600 } });
    } finally {
      await shipper.stop();
    }
    expect(await count('event', 'hv1')).toBe(before + 300);
  });

  run('an allocation that ends after it was shipped is updated in the fleet', async () => {
    const open = findOpenAllocation(t.store, 'hv2', INCIDENT_VMS.web1);
    expect(open).toBeDefined();
    endAllocation(t.store, open!, NOW);
    await ship('hv2');
    const rows = await fleetQuery<{ ended: string }>(
      db.adminUrl,
      "SELECT fleet_ms(ended_at) AS ended FROM allocation WHERE host = 'hv2' AND vm_uuid = $1",
      [INCIDENT_VMS.web1],
    );
    expect(rows.map((r) => Number(r.ended))).toEqual([NOW]);
  });
});

describe('what the engine enforces', () => {
  run("a host's role cannot forge, alter or erase another host's rows", async () => {
    const hv2 = urls.hosts.hv2 as string;
    await expect(
      fleetQuery(hv2, "INSERT INTO mac_status (host, time, enforcing) VALUES ('hv1', now(), 0)"),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(
      fleetQuery(
        hv2,
        `INSERT INTO allocation (host, local_id, vm_uuid, vm_name, model, categories, source, started_at, recorded_at)
         VALUES ('hv1', 999, 'x', 'forged', 'selinux', 'c1,c2', 'hook', now(), now())`,
      ),
    ).rejects.toMatchObject({ code: '42501' });
    const changed = await fleetQuery(hv2, "UPDATE allocation SET vm_name = 'renamed' WHERE host = 'hv1' RETURNING id");
    expect(changed).toEqual([]);
    await expect(fleetQuery(hv2, "DELETE FROM denial WHERE host = 'hv1'")).rejects.toMatchObject({ code: '42501' });
    await expect(fleetQuery(hv2, 'DELETE FROM denial')).rejects.toMatchObject({ code: '42501' });
    await expect(
      fleetQuery(hv2, "UPDATE ship_position SET denial_id = 0 WHERE host = 'hv1' RETURNING host"),
    ).resolves.toEqual([]);
    // It reads only its own rows; a reader reads every host's.
    expect(await fleetQuery(hv2, "SELECT 1 FROM denial WHERE host = 'hv1'")).toEqual([]);
    expect((await fleetQuery(urls.reader, "SELECT 1 FROM denial WHERE host = 'hv1' LIMIT 1")).length).toBe(1);
    await expect(fleetQuery(urls.reader, "DELETE FROM denial WHERE host = 'hv1'")).rejects.toMatchObject({
      code: '42501',
    });
    // Shipping hv1's local rows with hv2's role is refused, with what to do.
    await expect(ship('hv2', { host: 'hv1' })).rejects.toMatchObject({ code: 'FLEET_REFUSED' });
    expect(await count('denial', 'hv1')).toBe(local('SELECT count(*) AS n FROM denial_row WHERE host_id =', 'hv1'));
  });

  run('two holders of one label on one host at one time are refused by the engine', async () => {
    await expect(
      fleetQuery(
        db.adminUrl,
        `INSERT INTO allocation (host, local_id, vm_uuid, vm_name, model, categories, source, started_at, recorded_at)
         SELECT host, 100000, 'y', 'twin', model, categories, source, started_at + interval '1 second', now()
         FROM allocation WHERE host = 'hv1' AND vm_name = 'db1'`,
      ),
    ).rejects.toMatchObject({ code: '23P01' });
  });

  run('a local allocation that breaks the rule is kept out and recorded; the rest ships on', async () => {
    // The local unique index only guards open allocations: two closed ones can overlap.
    const hostId = (t.store.db.prepare("SELECT id FROM host WHERE name = 'hv2'").get() as { id: number }).id;
    const insert = t.store.db.prepare(
      `INSERT INTO allocation (host_id, vm_uuid, vm_name, model, label, categories, source, started_at, ended_at, recorded_at)
       VALUES (?, ?, ?, 'selinux', 'system_u:system_r:svirt_t:s0:c8,c9', 'c8,c9', 'cli', ?, ?, ?)`,
    );
    insert.run(hostId, '11111111-1111-4111-8111-111111111111', 'first', NOW - 5000, NOW - 1000, NOW);
    insert.run(hostId, '22222222-2222-4222-8222-222222222222', 'overlapping', NOW - 4000, NOW - 2000, NOW);
    const log = join(t.dir, 'hv2-more.log');
    writeFileSync(log, eventsText(5000, 5009, 'hv2'));
    await ingestFiles(t.store, [log], { localHost: 'hv2' });
    const status = await ship('hv2');
    expect(status.shipped.refused).toBe(1);
    expect(await fleetQuery(db.adminUrl, "SELECT stream FROM ship_refusal WHERE host = 'hv2'")).toEqual([
      { stream: 'allocation' },
    ]);
    expect(await count('event', 'hv2')).toBe(local('SELECT count(*) AS n FROM event WHERE host_id =', 'hv2'));
  });

  run('a record stamped years ahead is kept out and recorded, not retried for ever', async () => {
    const log = join(t.dir, 'future.log');
    const future = eventsText(1, 1, 'hv2').replace(/audit\(1763719200/g, 'audit(4102444800');
    writeFileSync(log, `${future}${eventsText(6000, 6001, 'hv2')}`);
    await ingestFiles(t.store, [log], { localHost: 'hv2' });
    const status = await ship('hv2');
    expect(status.shipped.refused).toBe(2); // its event and its denial
    expect(status.lagRows).toBe(0);
    expect(await count('event', 'hv2')).toBe(local('SELECT count(*) AS n FROM event WHERE host_id =', 'hv2') - 1);
  });

  run('retention drops whole months older than the cutoff, and allocations ended before the label cutoff', async () => {
    const admin = await openFleet(db.adminUrl);
    const labelCutoff = NOW - 5 * 3_600_000;
    const ended = async (before: boolean) =>
      Number(
        (
          await fleetQuery<{ n: string }>(
            db.adminUrl,
            `SELECT count(*) AS n FROM allocation WHERE ${before ? 'ended_at < to_timestamp($1 / 1000.0)' : 'ended_at IS NULL OR ended_at >= to_timestamp($1 / 1000.0)'}`,
            [labelCutoff],
          )
        )[0]?.n,
      );
    const generation = async () =>
      Number((await fleetQuery<{ g: string }>(db.adminUrl, 'SELECT generation AS g FROM fleet_prune'))[0]?.g);
    // What a report says was pruned: records before the end of the newest month dropped.
    const prunedBefore = () => fleetReportReads(admin).prunedBefore();
    try {
      const old = await count('event', 'hv1');
      const [gone, kept, before] = [await ended(true), await ended(false), await generation()];
      expect(gone).toBeGreaterThan(0); // web1-old, ended seven hours ago
      expect(await prunedBefore()).toBeNull();
      const result = await pruneFleet(admin, Date.parse('2026-01-01T00:00:00Z'), labelCutoff);
      expect(result.dropped).toEqual(['denial_p2025_11', 'denial_p2025_12', 'event_p2025_11', 'event_p2025_12']);
      expect(await prunedBefore()).toBe(Date.parse('2026-01-01T00:00:00Z'));
      expect(result.allocations).toBe(gone);
      expect(await count('event', 'hv1')).toBe(old - 300);
      expect([await ended(true), await ended(false)]).toEqual([0, kept]);
      expect(
        await fleetQuery(
          db.adminUrl,
          'SELECT r.path FROM relabel r LEFT JOIN allocation a ON a.host = r.host AND a.local_id = r.allocation_local_id WHERE a.id IS NULL',
        ),
      ).toEqual([]);
      expect(await generation()).toBe(before + 1); // the central server's cache learns of it
      expect(await pruneFleet(admin, Date.parse('2026-01-01T00:00:00Z'), labelCutoff)).toEqual({
        dropped: [],
        allocations: 0,
        relabels: 0,
      });
      expect(await prunedBefore()).toBe(Date.parse('2026-01-01T00:00:00Z'));
    } finally {
      await admin.end();
    }
  });

  run('a role whose host this database does not know ships nothing and says so once', async () => {
    const role = db.role('elsewhere');
    const admin = await openFleet(db.adminUrl);
    try {
      await addFleetHost(admin, 'hv9', role, 'pw');
    } finally {
      await admin.end();
    }
    const said: string[] = [];
    const shipper = new Shipper(t.store, { url: db.roleUrl(role, 'pw'), onWarning: (m) => said.push(m) });
    try {
      expect(await shipper.shipOnce()).toBe(0);
      expect(await shipper.shipOnce()).toBe(0);
    } finally {
      await shipper.stop();
    }
    expect(said).toEqual([
      expect.stringMatching(/ships for host hv9, but this database holds records of hv1, hv2 only/),
    ]);
  });

  run('a role that ships for no host is told what to do', async () => {
    const admin = await openFleet(db.adminUrl);
    const role = db.role('stray');
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw' IN ROLE svirt_audit_host`);
    } finally {
      await admin.end();
    }
    const shipper = new Shipper(t.store, { url: db.roleUrl(role, 'pw') });
    await expect(shipper.connect()).rejects.toMatchObject({
      code: 'FLEET_REFUSED',
      hint: expect.stringContaining('fleet add-host'),
    });
    await expect(addFleetHost(await openFleet(db.adminUrl), 'bad host!', role)).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
  });
});
