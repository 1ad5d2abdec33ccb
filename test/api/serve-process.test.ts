/**
 * End to end against a real listening server: `serve` as a child process on a free port,
 * following a file; a line appended to the file comes back through /v1/stream (SSE) and
 * /v1/denials. Waits are on the server's own output, not on sleeps.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, requireBuilt } from '../helpers/built.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
let child: ChildProcess;
let base = '';
const log = join(scratch.dir, 'audit.log');

beforeAll(async () => {
  requireBuilt();
  writeFileSync(log, eventsText(1, 2));
  child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--db',
      join(scratch.dir, 'a.db'),
      '--listen',
      '127.0.0.1:0',
      '--follow',
      log,
      '--log-level',
      'warn',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  for (;;) {
    const [chunk] = (await once(child.stderr as NodeJS.ReadableStream, 'data')) as [Buffer];
    err += chunk.toString();
    const m = /listening on (http:\/\/[^\s;]+)/.exec(err);
    if (m) {
      base = m[1] as string;
      break;
    }
  }
});
afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  scratch.cleanup();
});

/** Read SSE events from a streaming response until `count` denial events arrived. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  count: number,
): Promise<{ id: string; data: { id: number; source: { categories: string } } }[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const events: { id: string; data: { id: number; source: { categories: string } } }[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (id && data) events.push({ id, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return events;
}

describe('serve (a real process on a real port)', () => {
  it('an appended line comes back through /v1/stream and /v1/denials; Last-Event-ID resumes without repeats', async () => {
    const stream = await fetch(`${base}/v1/stream?lastEventId=0`);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const firstTwo = await readEvents(stream.body as ReadableStream<Uint8Array>, 2);
    expect(firstTwo.map((e) => e.data.source.categories)).toEqual(['c1,c501', 'c2,c502']);

    // Resume after the first event, then a new line arrives in the followed file.
    const resumed = await fetch(`${base}/v1/stream`, { headers: { 'last-event-id': firstTwo[0]?.id as string } });
    appendFileSync(log, eventsText(3, 3));
    const next = await readEvents(resumed.body as ReadableStream<Uint8Array>, 2);
    expect(next.map((e) => e.data.source.categories)).toEqual(['c2,c502', 'c3,c503']);

    const page = (await (await fetch(`${base}/v1/denials`)).json()) as { items: { source: { categories: string } }[] };
    expect(page.items.map((d) => d.source.categories)).toEqual(['c3,c503', 'c2,c502', 'c1,c501']);
    const health = (await (await fetch(`${base}/healthz`)).json()) as {
      status: string;
      collector: { following: string };
    };
    expect(health).toMatchObject({ status: 'ok', collector: { following: log } });
  });

  it('stops cleanly on SIGTERM with the checkpoint committed', async () => {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });
});
