import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { openStore, Store } from '../../store/store.js';
import { WalCheckpointer } from '../../store/wal-checkpointer.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore | undefined;
afterEach(() => t?.cleanup());

describe('WalCheckpointer', () => {
  it('copies the WAL into the database file from another thread while the writer keeps writing', async () => {
    t = openTempStore({ durability: 'normal' });
    const { store } = t;
    const bound = store.db.pragma('wal_autocheckpoint', { simple: true });
    store.db.exec('CREATE TABLE filler (x TEXT)');
    const checkpointer = WalCheckpointer.start(store, 5);
    // The writer's own bound is raised to a safety net while the thread works.
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThan(bound as number);
    const fileBefore = statSync(t.path).size;
    const insert = store.db.prepare('INSERT INTO filler VALUES (?)');
    for (let batch = 0; batch < 20; batch++) {
      store.transaction(() => {
        for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000));
      });
    }
    const backfilled = await checkpointer.stop();
    expect(backfilled).toBeGreaterThanOrEqual(1);
    // What was written is in the database file now, not only in the WAL (this connection
    // never checkpointed: its own bound is far above the 4 MB written).
    expect(statSync(t.path).size).toBeGreaterThan(fileBefore + 4_000_000);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(bound);
    expect(store.db.prepare('SELECT count(*) AS n FROM filler').get()).toEqual({ n: 4000 });
  });

  it('does nothing for an in-memory database, and stopping twice is harmless', async () => {
    const store = new Store(new Database(':memory:'), ':memory:');
    const checkpointer = WalCheckpointer.start(store);
    expect(await checkpointer.stop()).toBe(0);
    expect(await checkpointer.stop()).toBe(0);
    store.close();
  });

  it('a backfill leaves what it stored in the database file', async () => {
    t = openTempStore({ durability: 'normal' });
    const file = join(t.dir, 'audit.log');
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      lines.push(
        `type=AVC msg=audit(1000.${String(i % 1000).padStart(3, '0')}:${i + 1}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="f${i}" dev="dm-0" ino=${i} scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0`,
      );
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    const empty = statSync(t.path).size;
    const summary = await ingestFiles(t.store, [file], { localHost: 'hv1', batchEvents: 100 });
    expect(summary.writer.denials).toBe(3000);
    // The writer's own bound (40 MiB of WAL) was never reached: only the thread checkpointed.
    expect(statSync(t.path).size - empty).toBeGreaterThan(500_000);
    // And a second connection sees every row.
    const reader = openStore(t.path, { readonly: true });
    expect(reader.db.prepare('SELECT count(*) AS n FROM denial').get()).toEqual({ n: 3000 });
    reader.close();
  });
});
