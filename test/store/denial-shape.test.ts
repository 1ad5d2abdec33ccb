import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { migrate } from '../../store/migrate.js';
import { shapeIdFor } from '../../store/denial-shape.js';
import { addHold, pruneSteps } from '../../store/retention.js';
import { openStore, Store } from '../../store/store.js';
import { allocateSelinux } from '../helpers/allocations.js';
import { BASE_TIME, eventLines } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

// The columns the denial table had before migration 0010, which the view keeps.
const DENIAL_COLUMNS = `id, event_id, host_id, time, serial, model, record_type, granted, permissive, perms, tclass,
  scontext, stype, scategories, spid, scomm, sexe, tcontext, ttype, tcategories, tpath, tname, tdev, tinode,
  aa_profile, aa_child, aa_operation, aa_requested, aa_denied, aa_fsuid, aa_ouid, aa_info, aa_error,
  syscall, syscall_success, syscall_exit, auid, uid, proctitle`;

const A = '11111111-1111-4111-8111-111111111111';
const timeOf = (serial: number) => BASE_TIME * 1000 + serial * 10;

/** Event `serial` as eventLines writes it, with the file name fixed: a denial loop's repeats. */
function loopLines(serial: number, name = 'disk.qcow2'): string[] {
  return eventLines(serial).map((l) => l.replace(/name="disk\d+\.qcow2"/, `name="${name}"`));
}

let t: TempStore;
let files = 0;
beforeEach(() => {
  t = openTempStore({ durability: 'normal' });
});
afterEach(() => t.cleanup());

async function ingestInto(store: Store, lines: string[]) {
  const file = join(t.dir, `l${files++}.log`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return ingestFiles(store, [file], { localHost: 'hv1' });
}

const count = (store: Store, sql: string): number => store.db.prepare(sql).pluck().get() as number;

function pruneAll(store: Store, before: number) {
  const steps = pruneSteps(store, { before, labelsBefore: 0, batchSize: 100 });
  let last = steps.next();
  while (!last.done) last = steps.next();
  return last.value;
}

describe('denial shapes', () => {
  it('a denial loop is kept as one shape and one narrow row per denial, and reads back whole', async () => {
    const lines: string[] = [];
    for (let s = 1; s <= 2000; s++) lines.push(...loopLines(s * 500));
    await ingestInto(t.store, lines);
    expect(count(t.store, 'SELECT count(*) FROM denial_row')).toBe(2000);
    // Every repeat has serial ≡ 0 (mod 500): one label, one pid, one name.
    expect(count(t.store, 'SELECT count(*) FROM denial_shape')).toBe(1);
    const last = t.store.db.prepare(`SELECT ${DENIAL_COLUMNS} FROM denial ORDER BY id DESC LIMIT 1`).get();
    expect(last).toMatchObject({
      time: timeOf(1_000_000),
      serial: 1_000_000,
      model: 'selinux',
      perms: 'read',
      tclass: 'file',
      stype: 'svirt_t',
      scategories: 'c0,c500',
      spid: 1000,
      scomm: 'qemu-kvm',
      sexe: '/usr/libexec/qemu-kvm',
      ttype: 'default_t',
      tname: 'disk.qcow2',
      tinode: 1_000_000,
      syscall: 257,
      syscall_exit: -13,
      uid: 107,
    });
  });

  it('a shape stored in a transaction that rolled back is stored again, not taken from the cache', () => {
    const values = JSON.stringify(['selinux', 'AVC', 'read', 'file', ...Array<null>(23).fill(null)]);
    expect(() =>
      t.store.immediate(() => {
        shapeIdFor(t.store, values, 1);
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    const id = t.store.immediate(() => shapeIdFor(t.store, values, 2));
    expect(count(t.store, `SELECT count(*) FROM denial_shape WHERE id = ${id}`)).toBe(1);
  });

  it("another process's prune deletes a shape this one has cached: the next denial stores it again", async () => {
    await ingestInto(t.store, loopLines(500));
    const pruner = openStore(t.path);
    try {
      expect(pruneAll(pruner, timeOf(10_000))).toMatchObject({ denials: 1, shapes: 1 });
    } finally {
      pruner.close();
    }
    expect(count(t.store, 'SELECT count(*) FROM denial_shape')).toBe(0);
    // (past the horizon the prune set, or the collector skips it)
    await ingestInto(t.store, loopLines(20_000));
    expect(t.store.db.prepare('SELECT serial, tname FROM denial').all()).toEqual([
      { serial: 20_000, tname: 'disk.qcow2' },
    ]);
  });

  it('pruning deletes the shapes only pruned denials used, and keeps those of held and newer denials', async () => {
    allocateSelinux(t.store, { uuid: A, name: 'a', categories: 'c1,c501' });
    const lines: string[] = [];
    // Shapes: "old" used by serials 1..300 only (but the held VM a's are kept), "both" used
    // before and after the cut, "new" after it only. The cut (serial 500) is 2 s after
    // the last "old" one: pruning deletes a shape only when its last use lies more than
    // the slack (1 s) before the cut.
    for (let s = 1; s <= 300; s++) lines.push(...loopLines(s, s % 500 === 1 ? 'held' : 'old'));
    for (let s = 1; s <= 1000; s += 100) lines.push(...loopLines(s + 1000, 'both'));
    for (let s = 401; s <= 1000; s++) lines.push(...loopLines(s, s < 600 ? 'both' : 'new'));
    await ingestInto(t.store, lines);
    addHold(t.store, { vmUuid: A, vmName: 'a', reason: 'INC-1', since: null, until: null });
    const shapesBefore = count(t.store, 'SELECT count(*) FROM denial_shape');
    const counts = pruneAll(t.store, timeOf(500));
    const left = t.store.db.prepare('SELECT DISTINCT tname FROM denial ORDER BY tname').pluck().all();
    expect(left).toEqual(['both', 'held', 'new']);
    // Every shape left is used by a denial left.
    expect(count(t.store, 'SELECT count(*) FROM denial_shape WHERE id NOT IN (SELECT shape_id FROM denial_row)')).toBe(
      0,
    );
    expect(counts.shapes).toBe(shapesBefore - count(t.store, 'SELECT count(*) FROM denial_shape'));
    expect(counts.shapes).toBeGreaterThan(0);
  });

  it('migration 0010 keeps every denial of a store made before it, with its id and every column', async () => {
    await ingestInto(t.store, [...loopLines(1), ...loopLines(2, 'other'), ...eventLines(3), ...loopLines(501)]);
    const expected = t.store.db.prepare(`SELECT ${DENIAL_COLUMNS} FROM denial ORDER BY id`).all();
    expect(expected).toHaveLength(4);
    const oldPath = join(t.dir, 'v9.db');
    const old = new Store(new Database(oldPath), oldPath);
    try {
      old.db.pragma('foreign_keys = ON');
      migrate(old, 9);
      old.db.exec(`ATTACH '${t.path}' AS now`);
      old.db.exec(`INSERT INTO host SELECT * FROM now.host;
        INSERT INTO source SELECT * FROM now.source;
        INSERT INTO event SELECT * FROM now.event;
        INSERT INTO raw_block SELECT * FROM now.raw_block;
        INSERT INTO denial (${DENIAL_COLUMNS}) SELECT ${DENIAL_COLUMNS} FROM now.denial;
        DETACH now;`);
      migrate(old);
      expect(old.db.prepare(`SELECT ${DENIAL_COLUMNS} FROM denial ORDER BY id`).all()).toEqual(expected);
      // serials 1 and 501 repeat one shape (c1,c501 is on the row, not the shape).
      expect(count(old, 'SELECT count(*) FROM denial_shape')).toBe(3);
      // The writer finds the migrated shapes by their key.
      await ingestInto(old, loopLines(1001));
      expect(count(old, 'SELECT count(*) FROM denial_shape')).toBe(3);
    } finally {
      old.close();
    }
  });
});
