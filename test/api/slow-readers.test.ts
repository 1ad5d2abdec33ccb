/**
 * Readers that do not read: over real TCP, a client asks for the whole denial stream (or a
 * report) and stops reading. The server must drop it after its stall bound, keep answering
 * everyone else meanwhile, and a client that resumes with Last-Event-ID must get every
 * denial once. Clients are raw sockets, so "not reading" is exactly that.
 */

import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InProcessAnswers } from '../../api/answer-pool.js';
import { buildApp } from '../../api/app.js';
import { DenialNotifier } from '../../api/denial-notifier.js';
import { Metrics } from '../../api/metrics.js';
import { TokenSet } from '../../api/tokens.js';
import { ingestFiles } from '../../collector/backfill.js';
import { allocateLabel } from '../../allocation/allocate.js';
import { latestDenialId } from '../../store/denial-query.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const DENIALS = 20_000;
const VM = '11111111-1111-4111-8111-111111111111';
let t: TempStore;
let app: FastifyInstance;
let port = 0;
const metrics = new Metrics();

beforeAll(async () => {
  t = openTempStore();
  // Every synthetic denial of serial ≡ 1 (mod 500) carries c1,c501: VM a's label.
  allocateLabel(t.store, {
    uuid: VM,
    name: 'a',
    host: 'hv1',
    model: 'selinux',
    source: 'cli',
    label: 'system_u:system_r:svirt_t:s0:c1,c501',
    startedAt: 0,
  });
  const log = join(t.dir, 'audit.log');
  writeFileSync(log, eventsText(1, DENIALS));
  await ingestFiles(t.store, [log], { localHost: 'hv1' });
  app = await buildApp({
    ctx: {
      store: t.store,
      answers: new InProcessAnswers(t.store),
      tokens: () => TokenSet.none(),
      notifier: new DenialNotifier(),
      metrics,
      localHost: 'hv1',
    },
    slowClients: { stallMs: 300, maxBufferedBytes: 1 << 20, perClient: 4, total: 64 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
}, 60_000);
const sockets: Socket[] = [];
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await app.close();
  t.cleanup();
});

/** A raw HTTP/1.1 GET whose response is not read (the socket is paused). */
/** When each test socket closed: Node 24 reports a reset even on a paused socket, maybe before the test reads it. */
const closedOf = new WeakMap<Socket, Promise<unknown>>();

async function stalledGet(path: string, headers: Record<string, string> = {}): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => undefined); // the server's reset of a client that does not read
  closedOf.set(socket, new Promise((resolve) => socket.once('close', resolve)));
  await once(socket, 'connect');
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`);
  socket.pause();
  return socket;
}

/** A stream that is open on the server (its first bytes arrived), then not read. */
async function heldStream(): Promise<Socket> {
  const socket = await stalledGet('/v1/stream');
  socket.resume();
  await once(socket, 'data');
  socket.pause();
  return socket;
}

/** Everything the socket received, read once the server has let it go. */
async function receivedAll(socket: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.resume();
  await closedOf.get(socket);
  return Buffer.concat(chunks).toString('utf8');
}

/** The ids of the SSE denial events in `text`, complete events only. */
function eventIds(text: string): number[] {
  return [...text.matchAll(/^id: (\d+)\nevent: denial\ndata: .*\n\n/gm)].map((m) => Number(m[1]));
}

/** Read an SSE stream until `until(ids)` holds. */
async function readStream(lastEventId: number, until: (ids: number[]) => boolean): Promise<number[]> {
  const controller = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/v1/stream`, {
    headers: { 'last-event-id': String(lastEventId) },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (until(eventIds(text))) break;
  }
  controller.abort();
  return eventIds(text);
}

describe('readers that do not read', () => {
  it('a stream replayed from id 0 to a client that never reads: others are answered, it is dropped, it resumes with nothing lost or doubled', async () => {
    const stalled = await Promise.all([1, 2, 3, 4].map(() => stalledGet('/v1/stream', { 'last-event-id': '0' })));
    // While they hold their streams, the API answers.
    const vms = await fetch(`http://127.0.0.1:${port}/v1/vms`);
    expect(vms.status).toBe(200);
    // Each is dropped by the server after the stall bound.
    const dropped = metrics.slowClientsDropped;
    await vi.waitFor(() => expect(metrics.slowClientsDropped - dropped).toBe(4), { timeout: 10_000 });
    // What the first one got before it was dropped, then the rest by Last-Event-ID.
    const bodies = await Promise.all(stalled.map(receivedAll));
    const body = bodies[0] as string;
    expect(body).toMatch(/^HTTP\/1.1 200/);
    const got = eventIds(body.slice(body.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/gm, ''));
    expect(got.length).toBeLessThan(DENIALS);
    const newest = latestDenialId(t.store);
    const resumeFrom = got.length > 0 ? (got[got.length - 1] as number) : 0;
    const rest = await readStream(resumeFrom, (ids) => ids[ids.length - 1] === newest);
    const all = [...got, ...rest];
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(DENIALS);
  }, 60_000);

  it('a report to a client that never reads is dropped after the stall bound; the API answers meanwhile', async () => {
    // 20,000 more denials, all VM a's: a report of several megabytes.
    const more = join(t.dir, 'more.log');
    writeFileSync(more, eventsText(DENIALS + 1, 2 * DENIALS).replace(/s0:c\d+,c\d+/g, 's0:c1,c501'));
    await ingestFiles(t.store, [more], { localHost: 'hv1' });
    const dropped = metrics.slowClientsDropped;
    const stalled = await stalledGet(`/v1/reports/${VM}?format=html`);
    const vms = await fetch(`http://127.0.0.1:${port}/v1/vms`);
    expect(vms.status).toBe(200);
    await vi.waitFor(() => expect(metrics.slowClientsDropped - dropped).toBe(1), { timeout: 10_000 });
    // Reset: what the kernel still held for it is gone with the connection.
    expect(await receivedAll(stalled)).not.toContain('</html>');
  }, 60_000);

  it('more than four streams from one client are refused with TOO_MANY_STREAMS; a closed one frees its place', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(heldStream));
    const fifth = await fetch(`http://127.0.0.1:${port}/v1/stream`);
    expect(fifth.status).toBe(429);
    expect(((await fifth.json()) as { error: { code: string } }).error.code).toBe('TOO_MANY_STREAMS');
    const report = await fetch(`http://127.0.0.1:${port}/v1/reports/${VM}?format=csv`);
    expect(report.status).toBe(429);
    (held[0] as Socket).destroy();
    await vi.waitFor(
      async () => {
        const again = await fetch(`http://127.0.0.1:${port}/v1/stream`, { signal: AbortSignal.timeout(2000) });
        expect(again.status).toBe(200);
        await again.body?.cancel();
      },
      { timeout: 5000 },
    );
    for (const s of held) s.destroy();
  });

  it('a Last-Event-ID that is not a safe integer is 400; one past the newest streams from now and says so', async () => {
    const huge = await fetch(`http://127.0.0.1:${port}/v1/stream`, {
      headers: { 'last-event-id': '99999999999999999999999' },
    });
    expect(huge.status).toBe(400);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('BAD_INPUT');
    const ahead = await fetch(`http://127.0.0.1:${port}/v1/stream`, { headers: { 'last-event-id': '900000000' } });
    expect(ahead.status).toBe(200);
    const reader = (ahead.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('is after the newest denial')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`Last-Event-ID 900000000 is after the newest denial (${latestDenialId(t.store)})`);
    await reader.cancel();
  });
});
