/**
 * A database that is damaged, is not a database, or sits on a full disk: every command
 * says so with what to do and exits 5 (database unavailable), never "unexpected error,
 * this is a bug" with a stack. The full disk is a real one: a small tmpfs.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuilt } from '../helpers/built.js';
import { cli, cliProcess } from '../helpers/cli-run.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
const UUID = '6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

function expectDatabaseError(r: { status: number; stderr: string }, what: RegExp): void {
  expect(r.stderr).toMatch(what);
  expect(r.stderr).not.toMatch(/unexpected error|this is a bug|\n\s+at /);
  expect(r.status).toBe(5);
}

describe('a damaged database', () => {
  it('truncated, overwritten in the middle, or not a database at all: exit 5 with what to do', async () => {
    const good = join(scratch.dir, 'good.db');
    await cli(['demo', '--db', good]);
    const bytes = readFileSync(good);
    const truncated = join(scratch.dir, 'truncated.db');
    writeFileSync(truncated, bytes.subarray(0, 20_000));
    const scribbled = join(scratch.dir, 'scribbled.db');
    const copy = Buffer.from(bytes);
    for (let i = 30_000; i < 60_000; i++) copy[i] = (i * 7919) & 0xff;
    writeFileSync(scribbled, copy);
    const garbage = join(scratch.dir, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    const log = join(scratch.dir, 'small.log');
    writeFileSync(log, eventsText(1, 5));
    for (const db of [truncated, scribbled, garbage]) {
      for (const argv of [
        ['denials', '--limit', '5'],
        ['vms'],
        ['alloc', '--uuid', UUID, '--vm', 'web1'],
        ['ingest', log],
      ]) {
        const r = await cliProcess([...argv, '--db', db]);
        expectDatabaseError(r, /the database is damaged or is not a svirt-audit database[^]*sqlite3 FILE \.recover/);
      }
    }
  });
});

function tmpfsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs';
  const probe = join(scratch.dir, 'mount-probe');
  mkdirSync(probe);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'none', probe]);
  if (r.status !== 0) return `cannot mount a tmpfs (${r.stderr?.toString().trim() || r.error?.message})`;
  spawnSync('umount', [probe]);
  return undefined;
}
const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.log(`skipped: a database on a full disk: ${noTmpfs}`);

describe.runIf(!noTmpfs)('a database on a full disk', () => {
  it('ingest and demo exit 5 saying the disk is full; nothing is half-written', async () => {
    const mount = join(scratch.dir, 'small-disk');
    mkdirSync(mount);
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'none', mount]);
    try {
      const log = join(scratch.dir, 'big.log');
      writeFileSync(log, eventsText(1, 20_000));
      const db = join(mount, 'audit.db');
      const r = await cliProcess(['ingest', '--db', db, log]);
      expectDatabaseError(r, /the database cannot be written \(database or disk is full\)\n\s+free space/);
    } finally {
      spawnSync('umount', [mount]);
    }
  });
});
