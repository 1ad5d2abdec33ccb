/**
 * Rotation tests: a writer appends at a steady rate while the followed file is rotated by
 * rename several times and once by copy-truncate; the follower ends with every event,
 * none doubled. Then the same with the collector stopped during two rotations.
 * Waiting is on the follower's own "stored" events, not on sleeps.
 */

import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditFileFollower } from '../../collector/follow.js';
import { openStore, type Store } from '../../store/store.js';
import { rotateByCopyTruncate, rotateByRename, storedKeys } from '../helpers/log-rotation.js';
import { eventKeys, eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
let log: string;
beforeEach(() => {
  t = openTempStore({ durability: 'normal' });
  log = join(t.dir, 'audit.log');
});
afterEach(() => t.cleanup());

/** A follower, and a promise for "at least N events stored" resolved from its callback. */
function follower(store: Store) {
  let total = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  const warnings: string[] = [];
  let warningWaiters: { match: RegExp; n: number; resolve: () => void }[] = [];
  const f = new AuditFileFollower(store, {
    path: log,
    localHost: 'hv1',
    pollMs: 10,
    idleFlushMs: 100,
    onStored: (events) => {
      total += events.length;
      waiters = waiters.filter((w) => (total >= w.n ? (w.resolve(), false) : true));
    },
    onWarning: (message) => {
      warnings.push(message);
      const count = (m: RegExp) => warnings.filter((w) => m.test(w)).length;
      warningWaiters = warningWaiters.filter((w) => (count(w.match) >= w.n ? (w.resolve(), false) : true));
    },
  });
  const storedAtLeast = (n: number) =>
    new Promise<void>((resolve) => {
      if (total >= n) resolve();
      else waiters.push({ n, resolve });
    });
  /** Resolves once `n` warnings matching `match` have been said. */
  const warned = (match: RegExp, n: number) =>
    new Promise<void>((resolve) => {
      if (warnings.filter((w) => match.test(w)).length >= n) resolve();
      else warningWaiters.push({ match, n, resolve });
    });
  return { f, storedAtLeast, warned, warnings };
}

/** Append events first..last, 10 per tick, letting the follower run between ticks. */
async function write(first: number, last: number, onEvent?: (serial: number) => void): Promise<void> {
  for (let s = first; s <= last; s += 10) {
    const end = Math.min(last, s + 9);
    appendFileSync(log, eventsText(s, end));
    for (let k = s; k <= end; k++) onEvent?.(k);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const probe = mkdtempSync(join(tmpdir(), 'svirt-audit-mount-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'none', probe]);
  spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return r.status === 0 ? undefined : `cannot mount a tmpfs (${r.stderr?.toString().trim() || r.error?.message})`;
}
const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.log(`skipped: the follower on a full disk: ${noTmpfs}`);

describe('following audit.log', () => {
  it('keeps every event through three renames and a copy-truncate, none doubled', async () => {
    writeFileSync(log, '');
    const { f, storedAtLeast } = follower(t.store);
    await f.start();
    await write(1, 1500, (serial) => {
      if (serial === 300 || serial === 600 || serial === 900) rotateByRename(log);
      if (serial === 1200) rotateByCopyTruncate(log);
    });
    await storedAtLeast(1500);
    await f.stop();
    expect(storedKeys(t.store)).toEqual(eventKeys(1, 1500));
  }, 30_000);

  it('stopped during two rotations and restarted: catches up on the rotated files first', async () => {
    writeFileSync(log, '');
    const first = follower(t.store);
    await first.f.start();
    await write(1, 200);
    await first.storedAtLeast(150);
    await first.f.stop();
    const before = storedKeys(t.store).length;
    // While it is stopped: two rotations and more writing.
    await write(201, 400);
    rotateByRename(log);
    await write(401, 600);
    rotateByRename(log);
    await write(601, 700);
    const second = follower(t.store);
    await second.f.start();
    await write(701, 800);
    await second.storedAtLeast(800 - before);
    await second.f.stop();
    expect(storedKeys(t.store)).toEqual(eventKeys(1, 800));
  }, 30_000);

  it('a rotation while the database is busy: the old file is finished under its own source before the new one is read', async () => {
    const store = openStore(t.path, { busyTimeoutMs: 20 });
    try {
      writeFileSync(log, '');
      const { f, storedAtLeast, warned, warnings } = follower(store);
      await f.start();
      await write(1, 100);
      await storedAtLeast(100);
      const oldSize = statSync(log).size;
      const holder = openStore(t.path);
      holder.db.exec('BEGIN IMMEDIATE');
      await write(101, 150);
      const rotatedSize = statSync(log).size;
      rotateByRename(log);
      await write(151, 200);
      // Several failed commits, the rotation among them, backing off and said once.
      await warned(/cannot write to the database/, 1);
      await vi.waitFor(() => expect(f.status().failedCommits).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
      expect(warnings.filter((w) => /cannot write to the database/.test(w))).toHaveLength(1);
      holder.db.exec('ROLLBACK');
      holder.close();
      await storedAtLeast(200);
      await f.stop();
      expect(warnings.filter((w) => /takes writes again after \d+ failed attempt/.test(w))).toHaveLength(1);
      expect(oldSize).toBeLessThan(rotatedSize);
      expect(storedKeys(store)).toEqual(eventKeys(1, 200));
      const sources = store.db.prepare('SELECT id, inode, offset FROM source ORDER BY id').all() as {
        id: number;
        inode: number;
        offset: number;
      }[];
      expect(sources).toHaveLength(2);
      const [old, current] = sources as [(typeof sources)[0], (typeof sources)[0]];
      expect(old.inode).toBe(Number(statSync(`${log}.1`).ino));
      expect(old.offset).toBe(rotatedSize);
      const bySource = store.db
        .prepare(
          'SELECT source_id AS id, min(serial) AS first, max(serial) AS last FROM event GROUP BY source_id ORDER BY source_id',
        )
        .all();
      expect(bySource).toEqual([
        { id: old.id, first: 1, last: 150 },
        { id: current.id, first: 151, last: 200 },
      ]);
      // Each event's offset is in the file its source names.
      const maxOldOffset = store.db
        .prepare('SELECT max(source_offset) AS m FROM event WHERE source_id = ?')
        .get(old.id) as {
        m: number;
      };
      expect(maxOldOffset.m).toBeLessThan(rotatedSize);
    } finally {
      store.close();
    }
  }, 30_000);

  it.runIf(!noTmpfs)(
    'a full disk: the follower backs off, says so once, and stores everything once space is freed',
    async () => {
      const mount = join(t.dir, 'small-disk');
      mkdirSync(mount);
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'none', mount]);
      const store = openStore(join(mount, 'audit.db'), { durability: 'normal' });
      try {
        writeFileSync(log, '');
        const { f, storedAtLeast, warned, warnings } = follower(store);
        await f.start();
        await write(1, 50);
        await storedAtLeast(50);
        // Fill what is left of the disk.
        const filler = join(mount, 'filler');
        const block = Buffer.alloc(16 * 1024);
        try {
          for (;;) appendFileSync(filler, block);
        } catch {
          // ENOSPC: full
        }
        await write(51, 1050);
        await warned(/cannot write to the database/, 1);
        await vi.waitFor(() => expect(f.status().failedCommits).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
        expect(warnings.filter((w) => /cannot write to the database/.test(w))).toEqual([
          expect.stringMatching(/database or disk is full/),
        ]);
        rmSync(filler);
        await storedAtLeast(1050);
        await f.stop();
        expect(storedKeys(store)).toEqual(eventKeys(1, 1050));
      } finally {
        store.close();
        spawnSync('umount', [mount]);
      }
    },
    30_000,
  );

  it('a lone AVC without EOE is stored after the idle bound, not held for the next record', async () => {
    writeFileSync(log, '');
    const { f, storedAtLeast } = follower(t.store);
    await f.start();
    appendFileSync(log, `${eventsText(1, 1).split('\n')[0]}\n`);
    await storedAtLeast(1);
    await f.stop();
    expect(storedKeys(t.store)).toEqual(eventKeys(1, 1));
  });
});
