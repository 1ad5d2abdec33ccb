/**
 * Crash test: a child process ingests a large log and is killed with SIGKILL at random
 * points, several times; after a final run the store holds exactly the events of the file,
 * none missing, none doubled, whichever thread was parsing or writing when the kill came.
 * Batches and their checkpoint share one transaction, and
 * events are unique on (host, time, serial), so any kill point must give that result.
 */

import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/store.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { eventKeys, eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const EVENTS = 75_000;
const scratch = tempDir();
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

/** Run `ingest`; kill it with SIGKILL after `killAfterMs` unless it finishes first. */
function ingestUntilKilled(
  db: string,
  file: string,
  killAfterMs: number | null,
): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'ingest', '--db', db, '--host', 'hv1', file], { stdio: 'ignore' });
    let killed = false;
    const timer =
      killAfterMs === null
        ? undefined
        : setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, killAfterMs);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ killed, code });
    });
  });
}

describe('ingest killed with SIGKILL at random points', () => {
  it(`ends with exactly the ${EVENTS} events of the file`, async () => {
    const file = join(scratch.dir, 'big.log');
    writeFileSync(file, eventsText(1, EVENTS));
    // Over 4 MiB: ingest parses it on its worker thread while the main thread writes.
    expect(statSync(file).size).toBeGreaterThan(4 << 20);
    const db = join(scratch.dir, 'crash.db');
    let kills = 0;
    for (let i = 0; i < 5; i++) {
      // Random points spread over a run (a full run takes about 1-3 s here).
      const r = await ingestUntilKilled(db, file, 150 + Math.floor(Math.random() * 900));
      if (r.killed) kills++;
    }
    const final = await ingestUntilKilled(db, file, null);
    expect(final.code).toBe(0);
    expect(kills).toBeGreaterThan(0);

    const store = openStore(db);
    const rows = store.db.prepare('SELECT time, serial FROM event ORDER BY time, serial').all() as {
      time: number;
      serial: number;
    }[];
    const denials = (store.db.prepare('SELECT count(*) AS n FROM denial').get() as { n: number }).n;
    const checkpoint = (store.db.prepare('SELECT offset FROM source').get() as { offset: number }).offset;
    store.close();
    expect(rows.map((r) => `${r.time}:${r.serial}`)).toEqual(eventKeys(1, EVENTS));
    expect(denials).toBe(EVENTS);
    expect(checkpoint).toBe(Buffer.byteLength(eventsText(1, EVENTS)));
  }, 120_000);
});
