/**
 * serve's standing retention against a collector following 2,000 lines/s, and a disk
 * that fills up under the collector: the store stays bounded, holds and everything newer
 * than the horizon survive, the libvirt hook still records a VM start, nothing is lost.
 */

import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServer, type ServeOptions, startServer } from '../../api/server.js';
import { addHold } from '../../store/retention.js';
import { openStore } from '../../store/store.js';
import { allocateSelinux } from '../helpers/allocations.js';
import { requireBuilt } from '../helpers/built.js';
import { cliProcess } from '../helpers/cli-run.js';
import { fixture } from '../helpers/fixtures.js';
import { BASE_TIME, eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const A = '11111111-1111-4111-8111-111111111111';
const FOREVER = 100 * 365 * 86_400_000;
const asRoot = process.getuid?.() === 0;
if (!asRoot) console.log('skipped: disk full under the collector: needs root to mount a small tmpfs');

let scratch: ReturnType<typeof tempDir>;
beforeEach(() => {
  requireBuilt();
  scratch = tempDir();
});
afterEach(() => scratch.cleanup());

/** serve's log lines, and a promise for the first that matches. */
function logCapture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.re.test(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
      nl = buffered.indexOf('\n');
    }
  });
  return {
    stream,
    lines,
    next: (re: RegExp) =>
      new Promise<string>((resolve) => {
        const seen = lines.find((l) => re.test(l));
        if (seen) resolve(seen);
        else waiters.push({ re, resolve });
      }),
  };
}

/** Append events first..last to `log` at 2,000 lines/s (three lines per event). */
async function appendAtRate(log: string, first: number, last: number, onTick?: () => void): Promise<void> {
  const perTick = 33; // 99 lines every 50 ms
  for (let s = first; s <= last; s += perTick) {
    appendFileSync(log, eventsText(s, Math.min(last, s + perTick - 1)));
    onTick?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Resolves once the collector has stored every byte of the log. */
async function caughtUp(server: RunningServer): Promise<void> {
  for (;;) {
    const health = (await (await fetch(`http://${server.address}/healthz`)).json()) as {
      collector: { lagBytes: number };
    };
    if (health.collector.lagBytes === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** serve (in this process) on `db`, following `log`, its log lines to `logStream`. */
const serveFollowing = (db: string, log: string, logStream: NodeJS.WritableStream, extra: Partial<ServeOptions> = {}) =>
  startServer({
    dbPath: db,
    listen: '127.0.0.1:0',
    follow: log,
    tokensPath: join(scratch.dir, 'tokens'),
    allowRemote: false,
    localHost: 'hv1',
    version: 'test',
    readThreads: 0,
    logStream,
    ...extra,
  });

const hookStart = (db: string) =>
  cliProcess(['hook', 'qemu', 'web1', 'started', 'begin', '-'], {
    env: { SVIRT_AUDIT_DB: db, SVIRT_AUDIT_HOOK_STRICT: '1' },
    stdin: fixture('domains/selinux-three-disks.xml'),
  });

describe('serve keeps the store bounded while it collects', () => {
  it('past --max-size at 2,000 lines/s: the file stays under the bound, held and recent records stay, the hook records a start', async () => {
    const db = join(scratch.dir, 'audit.db');
    const log = join(scratch.dir, 'audit.log');
    writeFileSync(log, '');
    const setup = openStore(db);
    allocateSelinux(setup, { uuid: A, name: 'a', categories: 'c1,c501' }); // events ≡ 1 (mod 500)
    addHold(setup, { vmUuid: A, vmName: 'a', reason: 'INC-1', since: null, until: null });
    setup.close();
    const bound = 3 * 1024 * 1024;
    const logs = logCapture();
    const server = await serveFollowing(db, log, logs.stream, {
      retention: { keepMs: FOREVER, keepLabelsMs: FOREVER, maxBytes: bound },
      retentionCheckMs: 200,
    });
    const last = 8000;
    let largest = 0;
    let hook: ReturnType<typeof hookStart> | undefined;
    try {
      await appendAtRate(log, 1, last, () => {
        largest = Math.max(largest, statSync(db).size);
        // A VM starts while the store is being pruned.
        if (!hook && logs.lines.some((l) => l.includes('pruned records'))) hook = hookStart(db);
      });
      await caughtUp(server);
    } finally {
      await server.close();
    }
    expect(hook, 'no prune happened while appending').toBeDefined();
    const started = await (hook as ReturnType<typeof hookStart>);
    expect(started).toMatchObject({ status: 0, stderr: '' });

    expect(largest).toBeLessThanOrEqual(bound);
    const store = openStore(db, { readonly: true });
    try {
      const q = (sql: string) => store.db.prepare(sql).pluck().get() as number;
      const horizon = q('SELECT max(horizon) FROM prune_horizon');
      const firstKept = Math.ceil((horizon - BASE_TIME * 1000) / 10);
      expect(firstKept).toBeGreaterThan(1000);
      // Everything at or after the horizon is stored, exactly once.
      expect(q(`SELECT count(*) FROM denial WHERE time >= ${horizon}`)).toBe(last - firstKept + 1);
      // Every denial of the held VM is kept, also below the horizon.
      const held = Array.from({ length: last }, (_, i) => i + 1).filter((s) => s % 500 === 1);
      expect(q("SELECT count(*) FROM denial WHERE scategories = 'c1,c501'")).toBe(held.length);
      expect(q("SELECT count(*) FROM allocation WHERE vm_name = 'web1'")).toBe(1);
    } finally {
      store.close();
    }
  }, 120_000);

  it.runIf(asRoot)(
    'a full disk under the collector: it backs off and says so once, the hook exits 0, and once space returns every event is stored once',
    async () => {
      const mount = join(scratch.dir, 'small');
      mkdirSync(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount]);
      const logs = logCapture();
      let server: RunningServer | undefined;
      try {
        const db = join(mount, 'audit.db');
        const log = join(scratch.dir, 'audit.log');
        writeFileSync(log, '');
        server = await serveFollowing(db, log, logs.stream);
        appendFileSync(log, eventsText(1, 300));
        await caughtUp(server);
        // Fill the file system to the last byte.
        const filler = join(mount, 'filler');
        const chunk = Buffer.alloc(64 * 1024);
        for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
          try {
            for (;;) appendFileSync(filler, chunk.subarray(0, size));
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          }
        }
        await appendAtRate(log, 301, 3000);
        await logs.next(/cannot write to the database/);
        const hook = await hookStart(db).catch((e: unknown) => e);
        // Non-strict, as installed: the start goes on.
        const lenient = await cliProcess(['hook', 'qemu', 'web1', 'started', 'begin', '-'], {
          env: { SVIRT_AUDIT_DB: db },
          stdin: fixture('domains/selinux-three-disks.xml'),
        });
        expect(lenient.status).toBe(0);
        expect(lenient.stderr).toMatch(/full|cannot be written/);
        expect(hook).toMatchObject({ status: 1 });

        rmSync(filler);
        await logs.next(/takes writes again/);
        await caughtUp(server);
        expect(logs.lines.filter((l) => l.includes('cannot write to the database')).length).toBe(1);
      } finally {
        await server?.close();
      }
      const store = openStore(join(mount, 'audit.db'), { readonly: true });
      try {
        expect(store.db.prepare('SELECT count(*) FROM denial').pluck().get()).toBe(3000);
        expect(store.db.prepare('SELECT count(DISTINCT serial) FROM event').pluck().get()).toBe(3000);
      } finally {
        store.close();
        execFileSync('umount', [mount]);
      }
    },
    120_000,
  );
});
