/**
 * End to end against a real listening server: `serve` as a child process on a free port,
 * following a file; a line appended to the file comes back through /v1/stream (SSE) and
 * /v1/denials. Waits are on the server's own output, not on sleeps.
 */

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateLabel } from '../../allocation/allocate.js';
import { openStore } from '../../store/store.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { readEvents } from '../helpers/sse-reader.js';
import { startServe } from '../helpers/serve-process.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
let child: ChildProcess;
let base = '';
const log = join(scratch.dir, 'audit.log');

const db = join(scratch.dir, 'a.db');
const A = '11111111-1111-4111-8111-111111111111';

beforeAll(async () => {
  writeFileSync(log, eventsText(1, 2));
  // VM a runs as c1,c501: event 1's label (eventsText)
  const store = openStore(db);
  allocateLabel(store, {
    uuid: A,
    name: 'a',
    host: hostname(),
    model: 'selinux',
    source: 'cli',
    label: 'system_u:system_r:svirt_t:s0:c1,c501',
    startedAt: 0,
  });
  store.close();
  // --keep: the synthetic events are from 2025, older than the default 90 days.
  ({ child, base } = await startServe(['--db', db, '--follow', log, '--keep', '36500d']));
});
afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  scratch.cleanup();
});

type StreamedDenial = { id: number; source: { categories: string } };

describe('serve (a real process on a real port)', () => {
  it('an appended line comes back through /v1/stream and /v1/denials; Last-Event-ID resumes without repeats', async () => {
    const stream = await fetch(`${base}/v1/stream?lastEventId=0`);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const firstTwo = await readEvents<StreamedDenial>(stream.body as ReadableStream<Uint8Array>, 2);
    expect(firstTwo.map((e) => e.data.source.categories)).toEqual(['c1,c501', 'c2,c502']);

    // Resume after the first event, then a new line arrives in the followed file.
    const resumed = await fetch(`${base}/v1/stream`, { headers: { 'last-event-id': firstTwo[0]?.id as string } });
    appendFileSync(log, eventsText(3, 3));
    const next = await readEvents<StreamedDenial>(resumed.body as ReadableStream<Uint8Array>, 2);
    expect(next.map((e) => e.data.source.categories)).toEqual(['c2,c502', 'c3,c503']);

    const page = (await (await fetch(`${base}/v1/denials`)).json()) as { items: { source: { categories: string } }[] };
    expect(page.items.map((d) => d.source.categories)).toEqual(['c3,c503', 'c2,c502', 'c1,c501']);
    const health = (await (await fetch(`${base}/healthz`)).json()) as {
      status: string;
      collector: { following: string };
    };
    expect(health).toMatchObject({ status: 'ok', collector: { following: log } });

    // Answered on an answer thread (serve's default), from its own read connection.
    const summary = (await (await fetch(`${base}/v1/vms/${A}/summary`)).json()) as { name: string; total: number };
    expect(summary).toMatchObject({ name: 'a', total: 1 });
    const vmPage = (await (await fetch(`${base}/v1/vms/a/denials?since=2000-01-01`)).json()) as { items: unknown[] };
    expect(vmPage.items).toHaveLength(1);
  });

  it('stops cleanly on SIGTERM with the checkpoint committed', async () => {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    // The summary it computed was saved for the next start.
    const store = openStore(db, { readonly: true });
    const saved = store.db.prepare('SELECT uuid, key FROM answer_cache').all();
    store.close();
    expect(saved).toEqual([{ uuid: A, key: 'summary\u0000a' }]);
  });
});

describe('serve stops with a stream open', () => {
  it('SIGTERM ends an open /v1/stream and serve exits cleanly (it waited on the stream until killed)', async () => {
    const stopping = await startServe(['--db', join(scratch.dir, 'stop.db'), '--no-follow']);
    const stream = await fetch(`${stopping.base}/v1/stream`);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^: svirt-audit denial stream/);
    const exited = once(stopping.child, 'exit');
    stopping.child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    // The client sees its stream cut, and resumes elsewhere with Last-Event-ID.
    await expect(reader.read()).rejects.toThrow();
  });
});
