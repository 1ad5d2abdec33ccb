/**
 * The fleet's central server (`serve --store postgres://…`) over a real PostgreSQL holding
 * two shipped hosts: the host API's read routes, answered for every host, equal to what the
 * host API answers over the same records in SQLite; tokens and errors as the host API's.
 */

import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { Shipper } from '../../fleet/shipper.js';
import { InProcessAnswers } from '../../api/answer-pool.js';
import { buildApp } from '../../api/app.js';
import { DenialNotifier } from '../../api/denial-notifier.js';
import { startFleetServer } from '../../api/fleet-server.js';
import { Metrics } from '../../api/metrics.js';
import type { RunningServer } from '../../api/server.js';
import { createToken, TokenSet } from '../../api/tokens.js';
import { buildFleetScenario, shipFleetScenario } from '../helpers/fleet-scenario.js';
import { INCIDENT_VMS } from '../helpers/incident-scenario.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/postgres.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';
import { withoutIds } from '../helpers/without-ids.js';
import { chromiumUnavailable, launchChromium, watchedPage } from '../helpers/chromium.js';
import { openFleet } from '../../store/postgres/connect.js';
import { pruneFleet } from '../../store/postgres/fleet-retention.js';
import { redactedUrl } from '../../store/postgres/url.js';
import { verifyReport } from '../../report/verify-report.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/fleet server: skipped: ${unavailable}`);
const run = unavailable ? it.skip : it;

let t: TempStore;
let db: TestDatabase;
let fleet: RunningServer;
let hostApp: FastifyInstance;
let token: string;
let hostUrls: Record<string, string>;
let fleetReader: string;

beforeAll(async () => {
  if (unavailable) return;
  t = openTempStore();
  await buildFleetScenario(t.store, t.dir, NOW);
  db = await createTestDatabase();
  const shipped = await shipFleetScenario(t.store, db);
  const { reader } = shipped;
  fleetReader = reader;
  hostUrls = shipped.hosts;
  const tokensPath = join(t.dir, 'fleet-tokens');
  token = createToken(tokensPath, 'reader', 'analyst');
  fleet = await startFleetServer({
    url: reader,
    listen: '127.0.0.1:0',
    tokensPath,
    allowRemote: false,
    version: 'test',
    logLevel: 'error',
  });
  hostApp = await buildApp({
    ctx: {
      store: t.store,
      answers: new InProcessAnswers(t.store, { version: 'test' }),
      tokens: () => TokenSet.none(),
      notifier: new DenialNotifier(),
      metrics: new Metrics(),
      localHost: 'hv1',
    },
  });
}, 60_000);

afterAll(async () => {
  await fleet?.close();
  await hostApp?.close();
  await db?.drop();
  t?.cleanup();
});

async function get(path: string, auth = token): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`http://${fleet.address}${path}`, { headers: { authorization: `Bearer ${auth}` } });
  return { status: r.status, body: await r.json() };
}

/** Pages carry cursors of their own rows too. */
const withoutRowNumbers = (value: unknown) => withoutIds(value, ['next']);

describe('the central server', () => {
  run.each([
    '/v1/denials?limit=1000',
    '/v1/denials?kind=cross-vm',
    '/v1/denials?host=hv2',
    `/v1/vms/${INCIDENT_VMS.web1}/denials`,
    '/v1/vms/web1/summary',
    '/v1/vms/desk/summary',
    '/v1/vms',
    '/v1/allocations?vm=web1',
    '/v1/denials/histogram?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&buckets=20',
    '/v1/vms/web1/timeline',
    '/v1/vms/db1/timeline',
    '/v1/denials/histogram?since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&buckets=7&vm=web1',
  ])('answers %s as the host API does over the same records', async (path) => {
    const mine = await get(path);
    const host = await hostApp.inject({ method: 'GET', url: path });
    expect(mine.status).toBe(200);
    expect(host.statusCode).toBe(200);
    expect(withoutRowNumbers(mine.body)).toEqual(withoutRowNumbers(host.json()));
  });

  run('serves the dashboard page, as a host does', async () => {
    const r = await fetch(`http://${fleet.address}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    expect(await r.text()).toMatch(/<div id="app">/);
  });

  (unavailable || chromiumUnavailable() ? it.skip : it)(
    "the dashboard over the fleet in chromium: every host, a VM's timeline across hosts, the live stream on the fleet's cursors",
    async () => {
      const browser = await launchChromium();
      try {
        const { page, errors } = await watchedPage(browser);
        page.setDefaultTimeout(8000);
        // The reader token, as the page's form keeps it (sessionStorage), before the page loads.
        await page.addInitScript({ content: `sessionStorage.setItem('svirt-audit-token', ${JSON.stringify(token)})` });
        await page.goto(`http://${fleet.address}/`);
        const hosts = page.locator('table', { hasText: "Each host's confinement" }).locator('tbody tr td:first-child');
        await expect.poll(() => hosts.allInnerTexts()).toEqual(['hv1', 'hv2']);
        await expect.poll(() => page.getByRole('status').innerText()).toBe('live');
        await page.goto(`http://${fleet.address}/#/vms/web1`);
        await expect
          .poll(() => page.locator('figure.chart figcaption').first().innerText())
          .toMatch(/allocations on 2 hosts/);
        // The stream was asked with a denial id first (a host's resume point), refused, then from now.
        expect(errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );

  run('explains a denial of each host as the host API does (raw records, evidence)', async () => {
    const all = (await get('/v1/denials?limit=1000')).body as { items: { id: number; host: string }[] };
    const host = (await hostApp.inject({ method: 'GET', url: '/v1/denials?limit=1000' })).json() as {
      items: { id: number }[];
    };
    for (const [i, d] of all.items.entries()) {
      const mine = await get(`/v1/denials/${d.id}`);
      const theirs = await hostApp.inject({ method: 'GET', url: `/v1/denials/${host.items[i]?.id}` });
      expect(mine.status).toBe(200);
      expect(withoutRowNumbers(mine.body)).toEqual(withoutRowNumbers(theirs.json()));
    }
    expect(await get('/v1/denials/999999999')).toMatchObject({
      status: 404,
      body: { error: { code: 'UNKNOWN_DENIAL' } },
    });
  });

  run("streams a VM's incident report over every host, in each format, each verifying", async () => {
    for (const format of ['json', 'md', 'html'] as const) {
      const r = await fetch(`http://${fleet.address}/v1/reports/web1?format=${format}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(r.status).toBe(200);
      const text = await r.text();
      expect(verifyReport(Buffer.from(text))).toMatchObject({ evidenceOk: true, reportOk: true });
      expect(text).toContain(redactedUrl(fleetReader));
      expect(text).not.toContain(new URL(fleetReader).password || 'no password');
    }
    const json = (await (
      await fetch(`http://${fleet.address}/v1/reports/web1`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { report: { vm: { hosts: string[] }; totals: { denials: number } }; evidence: unknown[] };
    expect(json.report.vm.hosts).toEqual(['hv1', 'hv2']);
    expect(json.report.totals.denials).toBe(5);
    expect(json.evidence).toHaveLength(5);
    expect(await get('/v1/reports/nope')).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_VM' } } });
    expect((await get('/v1/reports/web1', 'wrong')).status).toBe(401);
  });

  run('pages with its own cursor through every host, each denial once', async () => {
    const seen: number[] = [];
    let next: string | null = null;
    do {
      const { body } = (await get(`/v1/denials?limit=4${next ? `&cursor=${next}` : ''}`)) as {
        body: { items: { id: number }[]; next: string | null };
      };
      seen.push(...body.items.map((d) => d.id));
      next = body.next;
    } while (next);
    const all = (await get('/v1/denials?limit=1000')).body as { items: { id: number }[] };
    expect(seen).toEqual(all.items.map((d) => d.id));
    expect(new Set(seen).size).toBe(seen.length);
  });

  run('lists the hosts with how far each has shipped', async () => {
    const { body } = await get('/v1/hosts');
    expect((body as { name: string; lastShippedAt: string | null }[]).map((h) => h.name)).toEqual(['hv1', 'hv2']);
    // No MAC_STATUS record was shipped: the enforcing state is unknown, and said so.
    for (const h of body as object[]) expect(h).toMatchObject({ enforcing: null, enforcingSince: null });
    expect((await get('/healthz')).body).toMatchObject({ status: 'ok', database: { reachable: true }, hosts: 2 });
  });

  run('a summary comes from the cache until one of its hosts ships, then shows what it shipped', async () => {
    const health = async () => ((await get('/healthz')).body as { answerCache: { hits: number } }).answerCache;
    const total = async () => ((await get('/v1/vms/web1/summary')).body as { total: number }).total;
    expect(await total()).toBe(5);
    const hits = (await health()).hits;
    expect(await total()).toBe(5);
    expect((await health()).hits).toBe(hits + 1);
    // web1 on hv2 reaches for cache1's disk once more; hv2 ships it.
    const log = join(t.dir, 'hv2-again.log');
    const stamp = `${Math.floor((NOW - 6 * 3_600_000 + 170 * 60_000) / 1000)}.000:9990`;
    writeFileSync(
      log,
      `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=7101 comm="qemu-kvm" name="cache1.qcow2" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:c101,c202 tcontext=system_u:object_r:svirt_image_t:s0:c303,c404 tclass=file permissive=0\ntype=EOE msg=audit(${stamp}):\n`,
    );
    await ingestFiles(t.store, [log], { localHost: 'hv2' });
    const shipper = new Shipper(t.store, { url: hostUrls.hv2 as string });
    await shipper.drain();
    await shipper.stop();
    await vi.waitFor(async () => expect(await total()).toBe(6), { timeout: 5000, interval: 50 });
  });

  run('a fleet prune, which no host ships, still makes the cached answers be computed again', async () => {
    const cache = async () =>
      ((await get('/healthz')).body as { answerCache: { hits: number; misses: number } }).answerCache;
    await get('/v1/vms/web1/summary');
    await get('/v1/vms/web1/summary');
    const before = await cache();
    const admin = await openFleet(db.adminUrl);
    try {
      await pruneFleet(admin, 0, 0); // removes nothing, but the cache cannot know that
    } finally {
      await admin.end();
    }
    await vi.waitFor(
      async () => {
        await get('/v1/vms/web1/summary');
        expect((await cache()).misses).toBeGreaterThan(before.misses);
      },
      { timeout: 5000, interval: 50 },
    );
  });

  run(
    'summaries saved at stop answer from the first request after the next start; another fleet’s are ignored',
    async () => {
      const answerFile = join(t.dir, 'fleet-answers.json');
      const startWithFile = (url = fleetReader) =>
        startFleetServer({
          url,
          listen: '127.0.0.1:0',
          tokensPath: join(t.dir, 'fleet-tokens'),
          allowRemote: false,
          version: 'test',
          logLevel: 'error',
          answerFile,
        });
      const at = async (server: RunningServer, path: string) =>
        (await fetch(`http://${server.address}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
      const first = await startWithFile();
      const expected = await at(first, '/v1/vms/web1/summary');
      await first.close();
      expect(statSync(answerFile).mode & 0o777).toBe(0o600);

      const saved = (JSON.parse(readFileSync(answerFile, 'utf8')) as { entries: { key: string }[] }).entries.length;
      expect(saved).toBeGreaterThan(0);
      const vms = ((await get('/v1/vms')).body as unknown[]).length;
      const cacheOf = async (server: RunningServer) =>
        ((await at(server, '/healthz')) as { answerCache: { hits: number; misses: number } }).answerCache;
      /** Once the start's warming went through every VM: each VM's summary computed or found once, besides `asked` requests. */
      const warmed = async (server: RunningServer, asked: number) => {
        await vi.waitFor(
          async () => {
            const c = await cacheOf(server);
            expect(c.hits + c.misses).toBeGreaterThanOrEqual(vms + asked);
          },
          { timeout: 10_000, interval: 20 },
        );
        return cacheOf(server);
      };

      const second = await startWithFile();
      try {
        expect(await at(second, '/v1/vms/web1/summary')).toEqual(expected);
        // Only the summaries the first run had not computed are computed again.
        expect((await warmed(second, 1)).misses).toBe(vms - saved);
      } finally {
        await second.close();
      }
      // The same database under another URL is another fleet as far as the file can tell.
      const other = await startWithFile(fleetReader.replace('127.0.0.1', 'localhost'));
      try {
        expect((await warmed(other, 0)).misses).toBe(vms);
      } finally {
        await other.close();
      }
    },
  );

  run('errors as the host API gives them: unknown VM, bad filter, wrong token, unknown route', async () => {
    expect(await get('/v1/vms/nope/summary')).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_VM' } } });
    expect(await get('/v1/denials?kind=nope')).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION' } } });
    expect((await get('/v1/denials', 'wrong')).status).toBe(401);
    expect(await get('/v1/report')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});
