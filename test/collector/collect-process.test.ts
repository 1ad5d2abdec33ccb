/**
 * The collector as a process: garbage does not kill it, an unwritable database holds the
 * checkpoint back until it can write (losing nothing), and the auditd plugin mode reads
 * stdin to EOF and exits 0.
 */

import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditFileFollower } from '../../collector/follow.js';
import { openStore } from '../../store/store.js';
import { requireBuilt } from '../helpers/built.js';
import { cliProcess } from '../helpers/cli-run.js';
import { eventKeys, eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

describe('collector processes', () => {
  it('garbage: binary junk, a 10 MB line and cut records between good events; every good event stored, every bad line kept', async () => {
    const file = join(scratch.dir, 'garbage.log');
    writeFileSync(file, eventsText(1, 10));
    appendFileSync(file, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a]));
    appendFileSync(file, eventsText(11, 20));
    appendFileSync(file, `${'x'.repeat(10 * 1024 * 1024)}\n`);
    appendFileSync(file, 'type=AVC msg=audit(1763719200.5\n');
    appendFileSync(file, eventsText(21, 30));
    const db = join(scratch.dir, 'garbage.db');
    const r = await cliProcess(['ingest', '--db', db, '--json', file]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ eventsStored: 30, unparsedLines: 3 });
    const store = openStore(db);
    const reasons = store.db.prepare('SELECT reason FROM unparsed_line ORDER BY offset').all();
    const events = (store.db.prepare('SELECT count(*) AS n FROM event').get() as { n: number }).n;
    store.close();
    expect(reasons).toEqual([{ reason: 'not-audit' }, { reason: 'too-long' }, { reason: 'malformed-header' }]);
    expect(events).toBe(30);
  });

  it('a database locked past its timeout: said loudly, checkpoint held, everything stored once it can write', async () => {
    const log = join(scratch.dir, 'locked.log');
    writeFileSync(log, eventsText(1, 5));
    const db = join(scratch.dir, 'locked.db');
    const store = openStore(db, { busyTimeoutMs: 20, durability: 'normal' });
    const warnings: string[] = [];
    let total = 0;
    let onWarn: (() => void) | undefined;
    let onCount: (() => void) | undefined;
    const follower = new AuditFileFollower(store, {
      path: log,
      localHost: 'hv1',
      pollMs: 10,
      onWarning: (m) => {
        warnings.push(m);
        onWarn?.();
      },
      onStored: (e) => {
        total += e.length;
        onCount?.();
      },
    });
    await follower.start();
    await new Promise<void>((resolve) => {
      onCount = () => total >= 5 && resolve();
      onCount();
    });
    // Another writer takes the lock; new events arrive meanwhile.
    const holder = openStore(db);
    holder.db.exec('BEGIN IMMEDIATE');
    appendFileSync(log, eventsText(6, 10));
    await new Promise<void>((resolve) => {
      onWarn = () => warnings.some((w) => w.includes('cannot write to the database')) && resolve();
      onWarn();
    });
    const checkpointWhileLocked = follower.status().checkpoint;
    expect(follower.status().failedCommits).toBeGreaterThan(0);
    holder.db.exec('ROLLBACK');
    holder.close();
    await new Promise<void>((resolve) => {
      onCount = () => total >= 10 && resolve();
      onCount();
    });
    await follower.stop();
    const keys = (
      store.db.prepare('SELECT time, serial FROM event ORDER BY serial').all() as { time: number; serial: number }[]
    ).map((r) => `${r.time}:${r.serial}`);
    const stored = (store.db.prepare('SELECT offset FROM source').get() as { offset: number }).offset;
    store.close();
    expect(keys).toEqual(eventKeys(1, 10));
    expect(warnings.find((w) => w.includes('cannot write'))).toMatch(/checkpoint not advanced/);
    expect(stored).toBe(Buffer.byteLength(eventsText(1, 10)));
    expect(checkpointWhileLocked).toBeLessThanOrEqual(stored);
  });

  it('--audisp reads the dispatcher stream on stdin, stores it, and exits 0 at EOF', async () => {
    const db = join(scratch.dir, 'audisp.db');
    const r = await cliProcess(['collect', '--audisp', '--db', db], { stdin: eventsText(1, 25) });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/end of input: 25 events stored, 25 denials/);
    const store = openStore(db);
    expect((store.db.prepare('SELECT count(*) AS n FROM denial').get() as { n: number }).n).toBe(25);
    store.close();
  });

  it('collect without --follow on a host without auditd says what to do', async () => {
    const r = await cliProcess(['collect', '--db', join(scratch.dir, 'none.db')]);
    if (r.status === 2) expect(r.stderr).toMatch(/does not exist on this host[\s\S]*--follow PATH/);
    else console.log('skipped: this host has /var/log/audit/audit.log, so collect would follow it');
  });
});
