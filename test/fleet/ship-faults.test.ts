/**
 * The fleet's faults against real PostgreSQL servers: the shipper SIGKILLed in the middle
 * of its batches, and a fleet server stopped for 30 s and started again while a host
 * collects and ships 2,000 lines/s. Nothing lost, nothing doubled, the lag visible.
 */

import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningServer, startServer } from '../../api/server.js';
import { ingestFiles } from '../../collector/backfill.js';
import { openFleet } from '../../store/postgres/connect.js';
import { addFleetHost } from '../../store/postgres/fleet-hosts.js';
import { openStore } from '../../store/store.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { cliProcess } from '../helpers/cli-run.js';
import {
  createTestDatabase,
  postgresUnavailable,
  scratchCluster,
  type ScratchCluster,
  type TestDatabase,
} from '../helpers/postgres.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/fleet faults: skipped: ${unavailable}`);
const run = unavailable ? it.skip : it;

let scratch: ReturnType<typeof tempDir>;
beforeAll(() => {
  requireBuilt();
  scratch = tempDir();
});
afterAll(() => scratch.cleanup());

async function fleetCount(url: string, table: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
  } finally {
    await client.end();
  }
}

/** A fleet database with one host role; returns the role's URL without its password. */
async function fleetWithHost(db: TestDatabase, host: string): Promise<{ url: string; password: string }> {
  const admin = await openFleet(db.adminUrl, { migrate: true });
  const role = db.role(`ship_${host}`);
  try {
    await addFleetHost(admin, host, role, 'pw');
  } finally {
    await admin.end();
  }
  return { url: db.roleUrl(role, 'pw').replace(':pw@', '@'), password: 'pw' };
}

describe('the shipper killed mid-batch', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (!unavailable) db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  run(
    'SIGKILL while batches are being written, then a restart: every row once',
    async () => {
      const local = join(scratch.dir, 'killed.db');
      const log = join(scratch.dir, 'killed.log');
      writeFileSync(log, eventsText(1, 60_000, 'hv1'));
      const store = openStore(local);
      await ingestFiles(store, [log], { localHost: 'hv1' });
      store.close();
      const { url, password } = await fleetWithHost(db, 'hv1');
      const env = { PATH: process.env.PATH, PGPASSWORD: password };
      const child = spawn(process.execPath, [CLI, 'ship', '--follow', '--db', local, '--to', url], {
        env,
        stdio: 'ignore',
      });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      try {
        // Killed once the first batches are in and before the last.
        await vi.waitFor(async () => expect(await fleetCount(db.adminUrl, 'event')).toBeGreaterThan(0), {
          timeout: 30_000,
          interval: 5,
        });
      } finally {
        child.kill('SIGKILL');
      }
      await exited;
      const atKill = await fleetCount(db.adminUrl, 'event');
      expect(atKill).toBeLessThan(60_000);
      const again = await new Promise<number>((resolve) => {
        const c = spawn(process.execPath, [CLI, 'ship', '--db', local, '--to', url], { env, stdio: 'ignore' });
        c.on('exit', (code) => resolve(code ?? -1));
      });
      expect(again).toBe(0);
      expect(await fleetCount(db.adminUrl, 'event')).toBe(60_000);
      expect(await fleetCount(db.adminUrl, 'denial')).toBe(60_000);
    },
    120_000,
  );
});

describe('a fleet server that takes TLS only, stopped for 30 s under 2,000 lines/s', () => {
  let cluster: ScratchCluster;
  let db: TestDatabase;
  beforeAll(async () => {
    if (unavailable) return;
    cluster = scratchCluster('svirt_audit_fault', 5439);
    db = await createTestDatabase(cluster);
  }, 60_000);
  afterAll(async () => {
    await db?.drop().catch(() => undefined);
    cluster?.drop();
  });

  run('a host that does not ask for TLS is refused, and told so (exit 5)', async () => {
    const { url, password } = await fleetWithHost(db, 'plain');
    const plain = url.replace(/\?.*$/, '?sslmode=disable');
    openStore(join(scratch.dir, 'plain.db')).close();
    const r = await cliProcess(['ship', '--status', '--db', join(scratch.dir, 'plain.db'), '--to', plain], {
      env: { PGPASSWORD: password },
    });
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/no encryption/);
  });

  run(
    'the host collects on, says so, catches up when the server returns: every event once',
    async () => {
      const { url, password } = await fleetWithHost(db, 'hv1');
      process.env.PGPASSWORD = password;
      const log = join(scratch.dir, 'live.log');
      writeFileSync(log, '');
      const logs = new PassThrough();
      const said: string[] = [];
      logs.on('data', (chunk: Buffer) => said.push(...chunk.toString().split('\n').filter(Boolean)));
      let server: RunningServer | undefined;
      try {
        server = await startServer({
          dbPath: join(scratch.dir, 'live.db'),
          listen: '127.0.0.1:0',
          follow: log,
          tokensPath: join(scratch.dir, 'tokens'),
          allowRemote: false,
          localHost: 'hv1',
          version: 'test',
          readThreads: 0,
          logStream: logs,
          shipTo: url,
        });
        const health = async () =>
          (await (await fetch(`http://${server?.address}/healthz`)).json()) as {
            collector: { lagBytes: number };
            shipping: { lagRows: number; failures: number };
          };
        const total = 26_400; // 40 s at 33 events (99 lines) every 50 ms
        const started = Date.now();
        let stopped = false;
        let restarted = false;
        let during: Awaited<ReturnType<typeof health>> | undefined;
        for (let s = 1; s <= total; s += 33) {
          appendFileSync(log, eventsText(s, s + 32));
          const elapsed = Date.now() - started;
          if (!stopped && elapsed >= 5_000) {
            cluster.stop();
            stopped = true;
          }
          if (stopped && !restarted && !during && elapsed >= 30_000) during = await health();
          if (stopped && !restarted && elapsed >= 35_000) {
            cluster.start();
            restarted = true;
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        if (!restarted) cluster.start();
        // While the server was down the lag grew and the failures were counted.
        expect(during?.shipping.lagRows).toBeGreaterThan(1000);
        expect(during?.shipping.failures).toBeGreaterThan(0);
        await vi.waitFor(
          async () => {
            const h = await health();
            expect([h.collector.lagBytes, h.shipping.lagRows, h.shipping.failures]).toEqual([0, 0, 0]);
          },
          { timeout: 60_000, interval: 200 },
        );
        expect(await fleetCount(db.adminUrl, 'event')).toBe(total);
        expect(await fleetCount(db.adminUrl, 'denial')).toBe(total);
        expect(said.some((l) => l.includes('cannot ship'))).toBe(true);
        expect(said.some((l) => l.includes('works again'))).toBe(true);
        const metrics = await (await fetch(`http://${server.address}/metrics`)).text();
        expect(metrics).toMatch(/^svirt_audit_ship_lag_rows 0$/m);
      } finally {
        delete process.env.PGPASSWORD;
        await server?.close();
      }
    },
    180_000,
  );
});
