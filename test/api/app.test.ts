import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessAnswers } from '../../api/answer-pool.js';
import { buildApp } from '../../api/app.js';
import type { ApiContext } from '../../api/context.js';
import { DenialNotifier } from '../../api/denial-notifier.js';
import { Metrics } from '../../api/metrics.js';
import { createToken, TokenSet } from '../../api/tokens.js';
import { ingestFiles } from '../../collector/backfill.js';
import { buildIncidentScenario, INCIDENT_HOST } from '../helpers/incident-scenario.js';
import { countTrail } from '../../store/audit-trail.js';
import { listAllocations } from '../../store/allocations.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
let tokensPath: string;
let reader: string;
let recorder: string;
let app: FastifyInstance;
let open: FastifyInstance;
const notifier = new DenialNotifier();

beforeAll(async () => {
  t = openTempStore();
  const log = buildIncidentScenario(t.store, t.dir);
  await ingestFiles(t.store, [log], { localHost: INCIDENT_HOST });
  tokensPath = join(t.dir, 'tokens');
  reader = createToken(tokensPath, 'reader', 'dashboard');
  recorder = createToken(tokensPath, 'recorder', 'hook');
  app = await buildApp({ ctx: newContext(), writeRateLimit: 1000 });
  open = await buildApp({ ctx: { ...newContext(), tokens: () => TokenSet.none() } });
});
afterAll(async () => {
  await app.close();
  await open.close();
  t.cleanup();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

/** What the routes share, over the incident scenario's store and its token file; metrics of its own. */
function newContext(): ApiContext {
  return {
    store: t.store,
    answers: new InProcessAnswers(t.store),
    tokens: () => TokenSet.load(tokensPath),
    notifier,
    metrics: new Metrics(),
    localHost: INCIDENT_HOST,
  };
}

describe('authentication', () => {
  it('with a token file: no token and a wrong token are 401, a reader token reads', async () => {
    expect((await app.inject({ url: '/v1/vms' })).statusCode).toBe(401);
    const wrong = await app.inject({ url: '/v1/vms', headers: as('sva_reader_nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({
      error: {
        code: 'AUTH_REQUIRED',
        message: 'a valid bearer token is required',
        hint: 'send Authorization: Bearer <token>',
      },
    });
    expect((await app.inject({ url: '/v1/vms', headers: as(reader) })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/vms', headers: as(recorder) })).statusCode).toBe(200);
  });

  it('a reader token on a write route is 403 and changes nothing', async () => {
    const before = listAllocations(t.store).length;
    const r = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(reader),
      payload: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'x' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('AUTH_FORBIDDEN');
    expect(listAllocations(t.store).length).toBe(before);
  });

  it('without a token file: reads are open on loopback, refused from elsewhere; writes are refused', async () => {
    expect((await open.inject({ url: '/v1/vms' })).statusCode).toBe(200);
    expect((await open.inject({ url: '/v1/vms', remoteAddress: '10.0.0.5' })).statusCode).toBe(401);
    const w = await open.inject({
      method: 'POST',
      url: '/v1/allocations',
      payload: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'x' },
    });
    expect(w.statusCode).toBe(403);
    expect(w.json().error.hint).toMatch(/token create --role recorder/);
  });

  it('a token file readable by group or others is refused with what to do', () => {
    const loose = join(t.dir, 'loose-tokens');
    createToken(loose, 'reader');
    chmodSync(loose, 0o640);
    expect(() => TokenSet.load(loose)).toThrow(/mode 640.*group or others/);
  });
});

describe('input validation', () => {
  it('unknown fields, oversize bodies and bad values are 4xx and change nothing', async () => {
    const before = listAllocations(t.store).length;
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'x', admin: true },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toBe('body must NOT have additional properties (admin)');
    const big = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'x'.repeat(70_000) },
    });
    expect(big.statusCode).toBe(413);
    const badCtx = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'x', label: 'not a context' },
    });
    expect(badCtx.statusCode).toBe(400);
    expect(badCtx.json().error.code).toBe('BAD_CONTEXT');
    const badDisk = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'x', disks: [{ path: '/d', mode: 'rwx' }] },
    });
    expect(badDisk.statusCode).toBe(400);
    expect(badDisk.json().error.message).toBe(
      'body/disks/0/mode must be equal to one of the allowed values (rw, ro, shared)',
    );
    expect((await app.inject({ url: '/v1/denials?frob=1', headers: as(reader) })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/denials?limit=100000', headers: as(reader) })).statusCode).toBe(400);
    expect(listAllocations(t.store).length).toBe(before);
  });

  it('a time outside the range kept (a huge span, year 275760) is 400 BAD_INPUT and commits nothing', async () => {
    const before = listAllocations(t.store).length;
    const uuid = '1a2b3c4d-0000-4000-8000-00000000abcd';
    for (const started of ['99999999999h', '275760-01-01', '1969-12-31T23:59:59Z']) {
      const r = await app.inject({
        method: 'POST',
        url: '/v1/allocations',
        headers: as(recorder),
        payload: { uuid, name: 'far', model: 'none', started },
      });
      expect(r.statusCode, started).toBe(400);
      expect(r.json().error.code).toBe('BAD_INPUT');
    }
    expect(listAllocations(t.store).length).toBe(before);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid, name: 'far', model: 'none' },
    });
    expect(ok.statusCode).toBe(201);
    const end = await app.inject({
      method: 'POST',
      url: `/v1/allocations/${uuid}/release`,
      headers: as(recorder),
      payload: { ended: '99999999999h' },
    });
    expect(end.statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/denials?since=99999999999w', headers: as(reader) })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/vms', headers: as(reader) })).statusCode).toBe(200);
  });

  it('SQL-looking input in every filter is refused or matches nothing, and changes nothing', async () => {
    const evil = encodeURIComponent("x' OR 1=1; DROP TABLE denial; --");
    const counts = countTrail(t.store);
    for (const q of ['vm', 'host', 'since', 'until', 'kind', 'tclass', 'perm', 'cursor', 'permissive', 'limit']) {
      const r = await app.inject({ url: `/v1/denials?${q}=${evil}`, headers: as(reader) });
      expect(r.statusCode, q).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, q).toBeLessThan(500);
    }
    const vm = await app.inject({ url: `/v1/vms/${evil}/denials`, headers: as(reader) });
    expect(vm.statusCode).toBe(404);
    expect(countTrail(t.store)).toEqual(counts);
  });
});

describe('reads', () => {
  it('pages through every denial with the next cursor, none twice', async () => {
    const seen: number[] = [];
    let url = '/v1/denials?limit=4';
    for (;;) {
      const page = (await app.inject({ url, headers: as(reader) })).json();
      seen.push(...page.items.map((d: { id: number }) => d.id));
      if (page.next === null) break;
      url = `/v1/denials?limit=4&cursor=${page.next}`;
    }
    expect(seen).toHaveLength(17);
    expect(new Set(seen).size).toBe(17);
  });

  it('filters as the CLI does, and a VM by name', async () => {
    const cross = (await app.inject({ url: '/v1/denials?kind=cross-vm', headers: as(reader) })).json();
    expect(cross.items).toHaveLength(3);
    expect(cross.items[0].source.vm.name).toBe('web1');
    const perm = (await app.inject({ url: '/v1/denials?perm=execmem&permissive=true', headers: as(reader) })).json();
    expect(perm.items).toHaveLength(2);
    const db1 = (await app.inject({ url: '/v1/vms/db1/denials', headers: as(reader) })).json();
    expect(db1.items.map((d: { kind: string }) => d.kind)).toEqual(Array(4).fill('unlabeled-target'));
    const summary = (await app.inject({ url: '/v1/vms/web1/summary', headers: as(reader) })).json();
    expect(summary.groups[0]).toMatchObject({ kind: 'cross-vm', count: 3, target: 'VM db1' });
    expect((await app.inject({ url: '/v1/vms/db1', headers: as(reader) })).json()).toMatchObject({
      name: 'db1',
      running: { categories: 'c303,c404' },
    });
  });

  it('one denial with raw records, attribution and the explanation', async () => {
    const id = (await app.inject({ url: '/v1/denials?kind=cross-vm&limit=1', headers: as(reader) })).json().items[0].id;
    const r = (await app.inject({ url: `/v1/denials/${id}`, headers: as(reader) })).json();
    expect(r.raw[0]).toMatch(/^type=AVC/);
    expect(r.attribution.source.name).toBe('web1');
    expect(r.attribution.target.name).toBe('db1');
    expect(r.explanation.fix.length).toBeGreaterThan(0);
    expect((await app.inject({ url: '/v1/denials/999999', headers: as(reader) })).statusCode).toBe(404);
  });

  it('healthz, metrics and the OpenAPI document', async () => {
    const h = await app.inject({ url: '/healthz', headers: as(reader) });
    expect(h.json()).toMatchObject({ status: 'ok', database: { writable: true } });
    const m = await app.inject({ url: '/metrics', headers: as(reader) });
    expect(m.body).toMatch(/^svirt_audit_denials_stored 17$/m);
    expect(m.body).toMatch(/^svirt_audit_allocations_open \d+$/m);
    const doc = (await app.inject({ url: '/v1/openapi.json', headers: as(reader) })).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/denials',
        '/v1/denials/{id}',
        '/v1/vms/{ref}/summary',
        '/v1/allocations',
        '/v1/relabels',
        '/v1/stream',
      ]),
    );
  });
});

describe('writes', () => {
  it('allocate (201, then 200 idempotent), relabel, release; conflicts are 409 with the holder', async () => {
    const uuid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    const first = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid, name: 'api-vm', range: 'c900.c950' },
    });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ name: 'api-vm', source: 'api', created: true, model: 'selinux' });
    const again = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid, name: 'api-vm' },
    });
    expect(again.statusCode).toBe(200);
    const rel = await app.inject({
      method: 'POST',
      url: '/v1/relabels',
      headers: as(recorder),
      payload: { uuid, path: '/img/a', from: 'system_u:object_r:virt_image_t:s0', to: first.json().imageLabel },
    });
    expect(rel.statusCode).toBe(201);
    const clash = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid: '1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'other', label: first.json().label },
    });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error.message).toMatch(/held by VM api-vm/);
    const released = await app.inject({
      method: 'POST',
      url: `/v1/allocations/${uuid}/release`,
      headers: as(recorder),
      payload: {},
    });
    expect(released.json().endedAt).not.toBeNull();
    expect(
      (await app.inject({ method: 'POST', url: `/v1/allocations/${uuid}/release`, headers: as(recorder), payload: {} }))
        .statusCode,
    ).toBe(404);
  });
});

describe('renamed fields', () => {
  it('an allocation posted back with the old imagelabel spelling keeps its image label (accepted until 0.3)', async () => {
    const label = 'system_u:system_r:svirt_t:s0:c960,c961';
    const imageLabel = 'system_u:object_r:svirt_image_t:s0:c960,c961';
    const r = await app.inject({
      method: 'POST',
      url: '/v1/allocations',
      headers: as(recorder),
      payload: { uuid: '2f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', name: 'old-client', label, imagelabel: imageLabel },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ label, imageLabel });
    expect(r.json()).not.toHaveProperty('imagelabel');
  });
});

describe('rate limit', () => {
  it('write routes answer 429 RATE_LIMITED past the limit, reads are not limited', async () => {
    const limited = await buildApp({
      ctx: newContext(),
      writeRateLimit: 2,
    });
    const write = () =>
      limited.inject({
        method: 'POST',
        url: '/v1/allocations/2f1b9a7e-0c4d-4e8f-9a6b-5d3c2e1f0a9b/release',
        headers: as(recorder),
        payload: {},
      });
    expect((await write()).statusCode).not.toBe(429);
    expect((await write()).statusCode).not.toBe(429);
    const third = await write();
    expect(third.statusCode).toBe(429);
    expect(third.json().error.code).toBe('RATE_LIMITED');
    for (let i = 0; i < 5; i++)
      expect((await limited.inject({ url: '/v1/vms', headers: as(reader) })).statusCode).toBe(200);
    await limited.close();
  });

  it('the limit is per token however the header spells the scheme (bearer, BEARER, extra spaces)', async () => {
    const limited = await buildApp({ ctx: newContext(), writeRateLimit: 2 });
    const write = (authorization: string) =>
      limited.inject({
        method: 'POST',
        url: '/v1/allocations/2f1b9a7e-0c4d-4e8f-9a6b-5d3c2e1f0a9b/release',
        headers: { authorization },
        payload: {},
      });
    expect((await write(`Bearer ${recorder}`)).statusCode).not.toBe(429);
    expect((await write(`bearer ${recorder}`)).statusCode).not.toBe(429);
    for (const spelling of [
      `BEARER ${recorder}`,
      `Bearer  ${recorder}`,
      `bearer\t${recorder}`,
      ` Bearer ${recorder} `,
    ]) {
      expect((await write(spelling)).statusCode, spelling).toBe(429);
    }
    await limited.close();
  });
});

describe('request logs', () => {
  it('one JSON line per request, without the token', async () => {
    const lines: string[] = [];
    const logged = await buildApp({
      ctx: newContext(),
      logger: { level: 'info', stream: { write: (l: string) => lines.push(l) } },
    });
    await logged.inject({ url: '/v1/vms?x=1', headers: as(reader) });
    await logged.close();
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'GET', url: '/v1/vms?x=1', status: 200 });
    expect(lines.join('')).not.toContain(reader);
  });
});

describe('reports over the API', () => {
  it('streams a report in each format; an unknown VM is 404 before any byte', async () => {
    const json = await app.inject({ url: '/v1/reports/web1?format=json', headers: as(reader) });
    expect(json.statusCode).toBe(200);
    expect(json.headers['content-type']).toMatch(/application\/json/);
    const doc = json.json();
    expect(doc.report.vm.name).toBe('web1');
    expect(doc.integrity.reportSha256).toMatch(/^[0-9a-f]{64}$/);
    const { verifyReport } = await import('../../report/verify-report.js');
    expect(verifyReport(Buffer.from(json.body))).toMatchObject({ evidenceOk: true, reportOk: true });
    const html = await app.inject({ url: '/v1/reports/web1?format=html', headers: as(reader) });
    expect(html.body).toMatch(/^<!doctype html>/);
    const missing = await app.inject({ url: '/v1/reports/nosuchvm', headers: as(reader) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('UNKNOWN_VM');
  });

  it('a since after until is 400 BAD_INPUT on every route that takes both', async () => {
    const window = 'since=2026-11-22&until=2026-11-01';
    for (const url of [`/v1/denials?${window}`, `/v1/vms/web1/summary?${window}`, `/v1/reports/web1?${window}`]) {
      const r = await app.inject({ url, headers: as(reader) });
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error).toMatchObject({
        code: 'BAD_INPUT',
        message: 'since 2026-11-22T00:00:00.000Z is after until 2026-11-01T00:00:00.000Z',
      });
    }
  });

  it('a CSV report ends with its SHA-256 in the x-report-sha256 trailer', async () => {
    const { createHash } = await import('node:crypto');
    const csv = await app.inject({ url: '/v1/reports/web1?format=csv', headers: as(reader) });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers.trailer).toBe('x-report-sha256');
    expect(csv.trailers['x-report-sha256']).toBe(createHash('sha256').update(csv.rawPayload).digest('hex'));
  });
});

describe('the dashboard page (api/routes/dashboard.ts)', () => {
  it('is served without a token, with a strict CSP; its assets are named by hash, cached for good and gzip when asked; the data still needs the token', async () => {
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    expect(page.body).not.toMatch(/<script>|<style>| on\w+=/);
    const script = /src="assets\/(app-[A-Z0-9]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();

    const plain = await app.inject({ url: `/assets/${script}` });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const zipped = await app.inject({ url: `/assets/${script}`, headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(plain.body);

    const missing = await app.inject({ url: '/assets/app-NOPE.js' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await app.inject({ url: '/v1/vms' })).statusCode).toBe(401);
  });
});

describe('GET /v1/denials/histogram', () => {
  const auth = () => ({ authorization: `Bearer ${reader}` });
  it('counts every denial of the window once, by kind and bucket, as the denial list has them; a VM narrows it', async () => {
    const window = 'since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z';
    const listed = (await app.inject({ url: `/v1/denials?${window}&limit=1000`, headers: auth() })).json() as {
      items: { kind: string; source: { vm: { name: string } | null } }[];
    };
    const h = (await app.inject({ url: `/v1/denials/histogram?${window}&buckets=10`, headers: auth() })).json() as {
      counts: Record<string, number[]>;
      total: number;
      bucketMs: number;
    };
    expect(h.total).toBeGreaterThan(0);
    expect(h.total).toBe(listed.items.length);
    const byKind = (items: { kind: string }[]) =>
      Object.fromEntries(
        [...new Set(items.map((d) => d.kind))].map((k) => [k, items.filter((d) => d.kind === k).length]),
      );
    expect(Object.fromEntries(Object.entries(h.counts).map(([k, c]) => [k, c.reduce((a, b) => a + b, 0)]))).toEqual(
      byKind(listed.items),
    );
    for (const c of Object.values(h.counts)) expect(c).toHaveLength(10);

    const vm = listed.items.find((d) => d.source.vm)?.source.vm?.name as string;
    const mine = (
      await app.inject({ url: `/v1/denials/histogram?${window}&vm=${vm}&buckets=3`, headers: auth() })
    ).json() as { total: number };
    expect(mine.total).toBe(listed.items.filter((d) => d.source.vm?.name === vm).length);

    expect((await app.inject({ url: '/v1/denials/histogram?buckets=0', headers: auth() })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/denials/histogram?vm=nope', headers: auth() })).json()).toMatchObject({
      error: { code: 'UNKNOWN_VM' },
    });
    expect((await app.inject({ url: '/v1/denials/histogram' })).statusCode).toBe(401);
  });
});

describe('GET /v1/hosts', () => {
  it("lists each host with its newest record and the enforcing state its last MAC_STATUS record gave; this host's state now", async () => {
    const s = openTempStore();
    const log = join(s.dir, 'audit.log');
    // Permissive, then enforcing again: the later record is the state.
    writeFileSync(
      log,
      [
        'node=hv9 type=MAC_STATUS msg=audit(1763719200.000:1): enforcing=0 old_enforcing=1 auid=0 ses=1 enabled=1 old-enabled=1 lsm=selinux res=1',
        'node=hv9 type=MAC_STATUS msg=audit(1763719260.000:2): enforcing=1 old_enforcing=0 auid=0 ses=1 enabled=1 old-enabled=1 lsm=selinux res=1',
        'node=hv8 type=MAC_STATUS msg=audit(1763719200.000:3): enforcing=0 old_enforcing=1 auid=0 ses=1 enabled=1 old-enabled=1 lsm=selinux res=1',
        '',
      ].join('\n'),
    );
    await ingestFiles(s.store, [log], { localHost: 'here' });
    const hosts = await buildApp({
      ctx: {
        ...newContext(),
        store: s.store,
        answers: new InProcessAnswers(s.store),
        tokens: () => TokenSet.none(),
        localHost: 'here',
      },
    });
    try {
      const body = (await hosts.inject({ url: '/v1/hosts' })).json() as Record<string, unknown>[];
      expect(body.map((h) => h.name)).toEqual(['here', 'hv8', 'hv9']);
      expect(body[2]).toEqual({
        name: 'hv9',
        newestRecord: '2025-11-21T10:01:00.000Z',
        enforcing: true,
        enforcingSince: '2025-11-21T10:01:00.000Z',
      });
      expect(body[1]).toMatchObject({ name: 'hv8', enforcing: false });
      expect(body[0]).toMatchObject({ name: 'here', newestRecord: null, enforcing: null, collector: null });
      expect(['enforcing', 'permissive', 'off']).toContain((body[0]?.now as { selinux: string }).selinux);
    } finally {
      await hosts.close();
      s.cleanup();
    }
  });
});
