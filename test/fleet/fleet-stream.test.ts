/**
 * The central server's /v1/stream over a real PostgreSQL: denials arrive as hosts ship
 * them; each event's id is a per-host cursor, and resuming with it, after the server
 * restarted and both hosts shipped meanwhile, gets every denial shipped since once.
 * `export --db postgres://…` reads the same way, its position file holding the cursor.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../store/postgres/stream-cursor.js';
import { startFleetServer } from '../../api/fleet-server.js';
import type { RunningServer } from '../../api/server.js';
import { createToken } from '../../api/tokens.js';
import { ingestFiles } from '../../collector/backfill.js';
import { Shipper } from '../../fleet/shipper.js';
import { queryDenials } from '../../store/denial-query.js';
import { buildFleetScenario, shipFleetScenario } from '../helpers/fleet-scenario.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/postgres.js';
import { readEvents } from '../helpers/sse-reader.js';
import { cli } from '../helpers/cli-run.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/fleet stream: skipped: ${unavailable}`);

let t: TempStore;
let db: TestDatabase;
let fleet: RunningServer;
let token: string;
let tokensPath: string;
let hostUrls: Record<string, string>;
let reader: string;
let serial = 9000;

type Streamed = { id: number; host: string; serial: number; kind: string };

const start = () =>
  startFleetServer({
    url: reader,
    listen: '127.0.0.1:0',
    tokensPath,
    allowRemote: false,
    version: 'test',
    logLevel: 'error',
    streamPollMs: 50,
  });

beforeAll(async () => {
  if (unavailable) return;
  t = openTempStore();
  await buildFleetScenario(t.store, t.dir, NOW);
  db = await createTestDatabase();
  ({ hosts: hostUrls, reader } = await shipFleetScenario(t.store, db));
  tokensPath = join(t.dir, 'fleet-tokens');
  token = createToken(tokensPath, 'reader', 'analyst');
  fleet = await start();
}, 60_000);

afterAll(async () => {
  await fleet?.close();
  await db?.drop();
  t?.cleanup();
});

const stream = (lastEventId?: string) =>
  fetch(`http://${fleet.address}/v1/stream`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId !== undefined && { 'last-event-id': lastEventId }) },
  });

/** A denial stored on `host` and shipped by its own role; returns its audit serial. */
async function shipOne(host: 'hv1' | 'hv2'): Promise<number> {
  const n = ++serial;
  const stamp = `${Math.floor(NOW / 1000) - 60}.000:${n}`;
  const log = join(t.dir, `more-${n}.log`);
  writeFileSync(
    log,
    `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=7101 comm="qemu-kvm" name="x.img" dev="dm-0" ino=${n} scontext=system_u:system_r:svirt_t:s0:c101,c202 tcontext=system_u:object_r:svirt_image_t:s0:c303,c404 tclass=file permissive=0\ntype=EOE msg=audit(${stamp}):\n`,
  );
  await ingestFiles(t.store, [log], { localHost: host });
  const shipper = new Shipper(t.store, { url: hostUrls[host] as string });
  try {
    await shipper.drain();
  } finally {
    await shipper.stop();
  }
  return n;
}

describe.skipIf(unavailable)('the central server /v1/stream', () => {
  it('from an empty cursor, every shipped denial of every host once', async () => {
    const shipped = queryDenials(t.store, {}).length;
    const events = await readEvents<Streamed>(
      (await stream(encodeCursor(new Map()))).body as ReadableStream<Uint8Array>,
      shipped,
    );
    expect(events).toHaveLength(shipped);
    expect(new Set(events.map((e) => e.data.id)).size).toBe(shipped);
    expect(new Set(events.map((e) => e.data.host))).toEqual(new Set(['hv1', 'hv2']));
  });

  it('from now: what hosts ship arrives; resuming after a restart gets what was shipped meanwhile, once', async () => {
    const live = await stream();
    expect(live.headers.get('content-type')).toMatch(/text\/event-stream/);
    const first = await shipOne('hv2');
    const [seen] = await readEvents<Streamed>(live.body as ReadableStream<Uint8Array>, 1);
    expect(seen?.data).toMatchObject({ host: 'hv2', serial: first, kind: 'cross-vm' });

    await fleet.close();
    const missed = [await shipOne('hv1'), await shipOne('hv2'), await shipOne('hv1')];
    fleet = await start();
    const resumed = await readEvents<Streamed>((await stream(seen?.id)).body as ReadableStream<Uint8Array>, 3);
    expect(resumed.map((e) => e.data.serial).sort()).toEqual([...missed].sort());
    // Each event's id resumes right after it: from the second, only the third remains.
    const rest = await readEvents<Streamed>((await stream(resumed[1]?.id)).body as ReadableStream<Uint8Array>, 1);
    expect(rest.map((e) => e.data.serial)).toEqual([resumed[2]?.data.serial]);
  });

  it('hosts a client made up are not echoed back in the event ids', async () => {
    const madeUp = new Map(
      Array.from({ length: 200 }, (_, i) => [`nohost-${i}-${'x'.repeat(20)}`, 1] as [string, number]),
    );
    const [first] = await readEvents<Streamed>(
      (await stream(encodeCursor(madeUp))).body as ReadableStream<Uint8Array>,
      1,
    );
    expect([...decodeCursor(first?.id as string).keys()].every((h) => h === 'hv1' || h === 'hv2')).toBe(true);
    expect((first?.id as string).length).toBeLessThan(100);
  });

  it('a Last-Event-ID that is not a cursor is refused with why', async () => {
    for (const bad of ['12', 'bm90IGpzb24', Buffer.from('{"hv1":-1}').toString('base64url'), 'not a cursor!']) {
      const r = await stream(bad);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'BAD_INPUT',
        message: expect.stringContaining('Last-Event-ID is not a fleet stream position'),
      });
    }
  });

  it('export --db postgres:// writes every shipped denial once, and resumes from its position file', async () => {
    const position = join(t.dir, 'fleet-export.pos');
    const lines = (text: string) => text.split('\n').filter(Boolean);
    const first = await cli(['export', '--db', reader, '--format', 'ecs', '--position', position]);
    expect(first.status).toBe(0);
    const exported = lines(first.stdout).map(
      (l) => JSON.parse(l) as { host: { name: string }; svirt_audit: { serial: number } },
    );
    expect(exported).toHaveLength(queryDenials(t.store, {}).length);
    expect(new Set(exported.map((e) => e.host.name))).toEqual(new Set(['hv1', 'hv2']));
    expect((await cli(['export', '--db', reader, '--position', position])).stdout).toBe('');
    const more = await shipOne('hv1');
    const again = await cli(['export', '--db', reader, '--format', 'cef', '--position', position]);
    expect(lines(again.stdout)).toHaveLength(1);
    expect(again.stdout).toMatch(/^CEF:0\|svirt-audit\|svirt-audit\|[^|]*\|cross-vm\|/);
    expect(JSON.parse((await cli(['export', '--db', reader])).stdout.trim().split('\n').pop() as string)).toBeTruthy();
    writeFileSync(position, '42\n');
    const bad = await cli(['export', '--db', reader, '--position', position]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${position} is not a fleet stream position`);
    expect(more).toBeGreaterThan(0);
  });
});
