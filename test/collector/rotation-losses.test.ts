/**
 * The two ways records were lost, tried as a user meets them: a collector process stopped
 * (SIGSTOP) while auditd rotates twice, and `ingest` of the audit.log auditd is writing,
 * whose last line is cut mid-record. Then a property: random writes, renames,
 * copy-truncates, stalls and restarts, and every record is stored exactly once.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { AuditFileFollower } from '../../collector/follow.js';
import { queryDenials } from '../../store/denial-query.js';
import { openStore, type Store } from '../../store/store.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { rotateByCopyTruncate, rotateByRename, storedKeys } from '../helpers/log-rotation.js';
import { eventKeys, eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

function countIn(db: string): number {
  const store = openStore(db, { readonly: true });
  try {
    return (store.db.prepare('SELECT count(*) AS n FROM event').get() as { n: number }).n;
  } finally {
    store.close();
  }
}

describe('records that rotated past a stalled follower', () => {
  it('collect --follow stopped (SIGSTOP) while auditd rotates twice: every event stored once it runs again', async () => {
    const dir = join(scratch.dir, 'stopped');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const log = join(dir, 'audit.log');
    const db = join(dir, 'audit.db');
    writeFileSync(log, eventsText(1, 50));
    const child: ChildProcess = spawn(process.execPath, [CLI, 'collect', '--db', db, '--follow', log], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      await vi.waitFor(() => expect(existsSync(db) && countIn(db)).toBe(50), { timeout: 15_000 });
      child.kill('SIGSTOP');
      appendFileSync(log, eventsText(51, 100));
      rotateByRename(log); // the file we held is now audit.log.1
      appendFileSync(log, eventsText(101, 150)); // a file that is audit.log only for a moment…
      rotateByRename(log); // …and is audit.log.1 when we run again
      appendFileSync(log, eventsText(151, 250));
      child.kill('SIGCONT');
      await vi.waitFor(() => expect(countIn(db)).toBe(250), { timeout: 15_000 });
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
    }
    const store = openStore(db, { readonly: true });
    expect(storedKeys(store)).toEqual(eventKeys(1, 250));
    store.close();
  }, 40_000);

  it('at restart, a rotated file newer than the newest one the store knows is read, even if older than the last checkpoint', async () => {
    const dir = join(scratch.dir, 'restart');
    const { mkdirSync, utimesSync } = await import('node:fs');
    mkdirSync(dir);
    const log = join(dir, 'audit.log');
    const store = openStore(join(dir, 'audit.db'));
    try {
      writeFileSync(log, eventsText(1, 50));
      await ingestFiles(store, [log], { localHost: 'hv1' }); // the file we followed
      rotateByRename(log);
      writeFileSync(log, eventsText(51, 100)); // never read: we were stalled
      const past = new Date(Date.now() - 3_600_000);
      utimesSync(log, past, past); // written an hour ago
      rotateByRename(log);
      writeFileSync(log, eventsText(101, 150));
      await ingestFiles(store, [log], { localHost: 'hv1' }); // the next file, checkpointed now
      const follower = new AuditFileFollower(store, { path: log, localHost: 'hv1', pollMs: 10 });
      await follower.start();
      await follower.stop();
      expect(storedKeys(store)).toEqual(eventKeys(1, 150));
    } finally {
      store.close();
    }
  });
});

describe('rotation during the catch-up itself', () => {
  it('a file written and rotated twice while rotated files are being read is read too', async () => {
    const dir = join(scratch.dir, 'during-catch-up');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const log = join(dir, 'audit.log');
    writeFileSync(log, '');
    const store = openStore(join(dir, 'audit.db'));
    let rotatedDuringCatchUp = false;
    const follower = new AuditFileFollower(store, {
      path: log,
      localHost: 'hv1',
      pollMs: 5,
      idleFlushMs: 20,
      // Called when the catch-up stores the first rotated file: auditd rotates meanwhile.
      onStored: () => {
        if (rotatedDuringCatchUp) return;
        rotatedDuringCatchUp = true;
        appendFileSync(log, eventsText(11, 30));
        rotateByRename(log);
        rotateByRename(log);
        appendFileSync(log, eventsText(31, 35));
      },
    });
    try {
      await follower.start(); // audit.log is empty: nothing held open
      appendFileSync(log, eventsText(1, 10));
      rotateByRename(log); // read by the catch-up before the new (empty) audit.log is opened
      await vi.waitFor(() => expect(rotatedDuringCatchUp && countKeys(store)).toBe(35), { timeout: 10_000 });
      await follower.stop();
      expect(storedKeys(store)).toEqual(eventKeys(1, 35));
    } finally {
      await follower.stop();
      store.close();
    }
  });
});

describe('ingest of the file auditd is writing', () => {
  it('a last line cut mid-record is held back and read whole next time: the denial is stored once, nothing unparsed', async () => {
    const dir = join(scratch.dir, 'partial');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const log = join(dir, 'audit.log');
    const db = join(dir, 'audit.db');
    const text = eventsText(1, 3);
    // Event 3's AVC record (its first line), cut before its scontext.
    const third = text.split('\n').slice(0, 6).join('\n').length + 1;
    const cut = text.indexOf('scontext', third);
    writeFileSync(log, text.slice(0, cut));
    const first = await runIngest(db, log);
    expect(first.stderr).toMatch(/its last \d+ bytes have no newline yet/);
    expect(first.json).toMatchObject({ eventsStored: 2, unparsedLines: 0 });
    appendFileSync(log, text.slice(cut));
    const second = await runIngest(db, log);
    expect(second.json).toMatchObject({ eventsStored: 1, unparsedLines: 0, denialsStored: 1 });
    const store = openStore(db, { readonly: true });
    const scontexts = queryDenials(store, {})
      .sort((a, b) => a.id - b.id)
      .map((d) => d.source.context);
    store.close();
    expect(scontexts).toEqual([
      'system_u:system_r:svirt_t:s0:c1,c501',
      'system_u:system_r:svirt_t:s0:c2,c502',
      'system_u:system_r:svirt_t:s0:c3,c503',
    ]);
  });

  it('a rotated file (NAME.N) or --finished reads a last line without its newline as it is', async () => {
    const dir = join(scratch.dir, 'finished');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    const rotated = join(dir, 'audit.log.1');
    writeFileSync(rotated, eventsText(1, 2).replace(/\n$/, ''));
    const a = await runIngest(join(dir, 'a.db'), rotated);
    expect(a.json).toMatchObject({ eventsStored: 2 });
    expect(a.stderr).toBe('');
    const plain = join(dir, 'saved.log');
    writeFileSync(plain, eventsText(1, 2).replace(/\n$/, ''));
    const b = await runIngest(join(dir, 'b.db'), plain, ['--finished']);
    expect(b.json).toMatchObject({ eventsStored: 2 });
  });
});

async function runIngest(
  db: string,
  file: string,
  extra: string[] = [],
): Promise<{ json: Record<string, unknown>; stderr: string }> {
  const { cliProcess } = await import('../helpers/cli-run.js');
  const r = await cliProcess(['ingest', '--db', db, '--json', ...extra, file]);
  expect(r.status).toBe(0);
  return { json: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

/** SVIRT_AUDIT_SOAK_RUNS=2000 runs the property longer, to hunt for rare interleavings. */
const SOAK_RUNS = process.env.SVIRT_AUDIT_SOAK_RUNS ? Number(process.env.SVIRT_AUDIT_SOAK_RUNS) : undefined;

describe('property: writes, renames, copy-truncates, stalls and restarts', () => {
  type Step =
    | { kind: 'write'; n: number }
    | { kind: 'rename' }
    | { kind: 'copytruncate' }
    | { kind: 'run' }
    | { kind: 'restart' };
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 30 }).map((n) => ({ kind: 'write' as const, n })) },
    { weight: 2, arbitrary: fc.constant({ kind: 'rename' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'copytruncate' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'run' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
  );

  it(
    'every record is stored exactly once',
    async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps) => {
          const dir = join(scratch.dir, `prop-${round++}`);
          const { mkdirSync } = await import('node:fs');
          mkdirSync(dir);
          const log = join(dir, 'audit.log');
          writeFileSync(log, '');
          const store = openStore(join(dir, 'audit.db'), { durability: 'normal' });
          let written = 0;
          const start = async () => {
            const f = new AuditFileFollower(store, {
              path: log,
              localHost: 'hv1',
              pollMs: 5,
              idleFlushMs: 20,
            });
            await f.start();
            return f;
          };
          let follower = await start();
          try {
            // Between awaits the follower cannot run: consecutive steps without `run` are a stall.
            for (const s of steps) {
              if (s.kind === 'write') {
                appendFileSync(log, eventsText(written + 1, written + s.n));
                written += s.n;
              } else if (s.kind === 'rename') rotateByRename(log);
              else if (s.kind === 'copytruncate') rotateByCopyTruncate(log);
              else if (s.kind === 'run')
                await vi.waitFor(() => expect(countKeys(store)).toBe(written), { timeout: 10_000 });
              else {
                await follower.stop();
                follower = await start();
              }
            }
            await vi.waitFor(() => expect(countKeys(store)).toBe(written), { timeout: 10_000 });
            await follower.stop();
            expect(storedKeys(store)).toEqual(eventKeys(1, written));
          } finally {
            await follower.stop();
            store.close();
          }
        }),
        { numRuns: SOAK_RUNS ?? 60, endOnFailure: true },
      );
    },
    (SOAK_RUNS ?? 600) * 200,
  );
});

function countKeys(store: Store): number {
  return (store.db.prepare('SELECT count(*) AS n FROM event').get() as { n: number }).n;
}
