import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { releaseAllocation } from '../../allocation/allocate.js';
import { applyRetention } from '../../retention/policy.js';
import { listAllocations } from '../../store/allocations.js';
import { insertUnparsed } from '../../store/audit-trail.js';
import { eventRecords } from '../helpers/event-records.js';
import { insertRelabel } from '../../store/relabels.js';
import { insertAlert, listAlerts, markDelivered, promoteDueAlerts } from '../../store/alert-outbox.js';
import { addHold, listHolds, pruneSteps, releaseHold, storeUsage } from '../../store/retention.js';
import { openStore } from '../../store/store.js';
import { VmAnswerCache } from '../../api/vm-answer-cache.js';
import { allocateSelinux } from '../helpers/allocations.js';
import { BASE_TIME, eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

// eventsText(n) is event n at BASE_TIME + 10n ms, running as svirt_t:s0:c<n%500>,c<500+n%500>.
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const timeOf = (serial: number) => BASE_TIME * 1000 + serial * 10;
const FOREVER = 100 * 365 * 86_400_000;

let t: TempStore;
beforeEach(() => {
  t = openTempStore({ durability: 'normal' });
  allocateSelinux(t.store, { uuid: A, name: 'a', categories: 'c1,c501' });
  allocateSelinux(t.store, { uuid: B, name: 'b', categories: 'c2,c502' });
});
afterEach(() => t.cleanup());

let files = 0;
async function ingest(text: string) {
  const file = join(t.dir, `l${files++}.log`);
  writeFileSync(file, text);
  return ingestFiles(t.store, [file], { localHost: 'hv1' });
}

const count = (sql: string): number => (t.store.db.prepare(sql).pluck().get() as number) ?? 0;
const denialTimes = () =>
  (t.store.db.prepare('SELECT time FROM denial ORDER BY time').pluck().all() as number[]).map(
    (x) => (x - BASE_TIME * 1000) / 10,
  );

const prune = (before: number, extra: { labelsBefore?: number; batchSize?: number } = {}) => {
  const steps = pruneSteps(t.store, {
    before,
    labelsBefore: extra.labelsBefore ?? 0,
    batchSize: extra.batchSize ?? 100,
  });
  let last = steps.next();
  while (!last.done) last = steps.next();
  return last.value;
};

describe('pruning', () => {
  it('removes the denials and events older than the cutoff, in steps, and keeps the rest', async () => {
    await ingest(eventsText(1, 1000));
    const counts = prune(timeOf(600), { batchSize: 64 });
    expect(counts).toMatchObject({ denials: 599, events: 599, held: 0, reached: timeOf(600) });
    expect(denialTimes()).toEqual(Array.from({ length: 401 }, (_, i) => 600 + i));
    expect(count('SELECT count(*) FROM event')).toBe(401);
    expect(count('SELECT min(time) FROM event')).toBe(timeOf(600));
  });

  it('an old log read again after a prune stores none of what was pruned, and says how many it skipped', async () => {
    const text = eventsText(1, 1000);
    await ingest(text);
    prune(timeOf(600));
    const again = await ingest(text);
    expect(again.writer).toMatchObject({ stored: 0, belowHorizon: 599, alreadyStored: 401 });
    expect(count('SELECT count(*) FROM denial')).toBe(401);
    // Newer events than the horizon are stored as always.
    await ingest(eventsText(1001, 1010));
    expect(count('SELECT count(*) FROM denial')).toBe(411);
  });

  it("a hold keeps the VM's denials, as source and as target, and their raw records; released, the next prune removes them", async () => {
    await ingest(eventsText(1, 1000)); // events 1 and 501 run as a (c1,c501), 2 and 502 as b
    // b reads a file carrying a's categories: a is the target.
    const stamp = `${BASE_TIME + 1}.000:5000`;
    await ingest(
      `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="a.img" dev="dm-0" ino=9 scontext=system_u:system_r:svirt_t:s0:c2,c502 tcontext=system_u:object_r:svirt_image_t:s0:c1,c501 tclass=file permissive=0\n` +
        `type=EOE msg=audit(${stamp}):\n`,
    );
    const hold = addHold(t.store, { vmUuid: A, vmName: 'a', reason: 'INC-1234', since: null, until: null });
    expect(listHolds(t.store).map((h) => h.reason)).toEqual(['INC-1234']);

    const counts = prune(Date.now());
    expect(counts.held).toBe(3);
    expect(denialTimes()).toEqual([1, 100, 501]);
    expect(count("SELECT count(*) FROM denial WHERE tcategories = 'c1,c501'")).toBe(1);
    expect(count('SELECT count(*) FROM event')).toBe(3);
    const kept = t.store.db.prepare('SELECT id FROM event').pluck().all() as number[];
    expect(kept.filter((id) => eventRecords(t.store, id)?.[0]?.includes('name="a.img"'))).toHaveLength(1);

    releaseHold(t.store, hold.id);
    expect(() => releaseHold(t.store, hold.id)).toThrow(/released already/);
    prune(Date.now());
    expect(count('SELECT count(*) FROM denial')).toBe(0);
    expect(count('SELECT count(*) FROM event')).toBe(0);
    // Their compressed raw records went with the last event of each block.
    expect(count('SELECT count(*) FROM raw_block')).toBe(0);
  });

  it('a hold with a window keeps only what falls inside it', async () => {
    await ingest(eventsText(1, 1000));
    addHold(t.store, { vmUuid: A, vmName: 'a', reason: 'r', since: timeOf(300), until: null });
    prune(Date.now());
    expect(denialTimes()).toEqual([501]);
  });

  it('ended allocations older than the label cutoff go with their relabels; a held VM keeps its history', async () => {
    const C = '33333333-3333-4333-8333-333333333333';
    allocateSelinux(t.store, { uuid: C, name: 'c', categories: 'c3,c503' });
    releaseAllocation(t.store, 'hv1', B, 1000);
    releaseAllocation(t.store, 'hv1', C, 1000);
    for (const uuid of [B, C])
      insertRelabel(t.store, {
        allocationId: (listAllocations(t.store, { uuid })[0] as { id: number }).id,
        path: `/var/lib/libvirt/images/${uuid}.img`,
        labelBefore: 'system_u:object_r:virt_image_t:s0',
        labelAfter: 'system_u:object_r:svirt_image_t:s0:c2,c502',
        action: 'relabel',
        error: null,
        at: 500,
      });
    addHold(t.store, { vmUuid: C, vmName: 'c', reason: 'keep c', since: null, until: null });
    const counts = prune(0, { labelsBefore: 2000 });
    expect(counts).toMatchObject({ allocations: 1, relabels: 1 });
    expect(t.store.db.prepare('SELECT vm_name FROM allocation ORDER BY vm_name').pluck().all()).toEqual(['a', 'c']);
    expect(count('SELECT count(*) FROM relabel')).toBe(1);
  });

  it('a summary cached before a prune is computed again after it', async () => {
    await ingest(eventsText(1, 1000));
    const cache = new VmAnswerCache();
    expect(cache.summary(t.store, A, 'a').total).toBe(2);
    prune(timeOf(300));
    expect(cache.summary(t.store, A, 'a').total).toBe(1);
  });

  it('holds the write lock one step at a time: another writer gets in between steps', async () => {
    await ingest(eventsText(1, 1000));
    const steps = pruneSteps(t.store, { before: Date.now(), labelsBefore: 0, batchSize: 100 });
    steps.next();
    const other = new Database(t.path, { timeout: 0 });
    try {
      expect(() => other.prepare("INSERT INTO host (name) VALUES ('other')").run()).not.toThrow();
    } finally {
      other.close();
    }
    let last = steps.next();
    while (!last.done) last = steps.next();
    expect(count('SELECT count(*) FROM denial')).toBe(0);
  });
});

describe('unreadable lines', () => {
  it('go when they were stored before the cutoff; newer ones stay', async () => {
    const day = 86_400_000;
    const now = Date.UTC(2026, 0, 100);
    insertUnparsed(t.store, null, null, 'no-type', 'x', 'garbage 1', now - 100 * day);
    insertUnparsed(t.store, null, null, 'no-type', 'x', 'garbage 2', now - 10 * day);
    t.store.db
      .prepare("INSERT INTO unparsed_line (reason, detail, line) VALUES ('no-type', 'x', 'from before 0011')")
      .run();
    expect(prune(now - 90 * day)).toMatchObject({ unparsed: 2 });
    expect(t.store.db.prepare('SELECT line FROM unparsed_line').pluck().all()).toEqual(['garbage 2']);
  });
});

describe('the size bound and the file', () => {
  it('--max-size removes the oldest records until the store uses under 90% of the bound, and the file shrinks', async () => {
    await ingest(eventsText(1, 20_000));
    const before = storeUsage(t.store);
    const bound = Math.floor(before.usedBytes / 2);
    const outcome = await applyRetention(
      t.store,
      { keepMs: FOREVER, keepLabelsMs: FOREVER, maxBytes: bound },
      { reason: 'test', now: Date.now() },
    );
    const after = storeUsage(t.store);
    expect(after.usedBytes).toBeLessThanOrEqual(bound * 0.9);
    expect(outcome.overBound).toBe(false);
    // The oldest went: what is left is one run of the newest.
    const times = denialTimes();
    expect(times.at(-1)).toBe(20_000);
    expect(times.length).toBe(20_001 - (times[0] as number));
    // A new file hands freed pages back (incremental vacuum).
    expect(outcome.shrunkBytes).toBeGreaterThan(0);
    expect(after.fileBytes).toBeLessThan(before.fileBytes * 0.6);
  });

  it('a file made before in-place shrinking keeps its size until compacted once', async () => {
    await ingest(eventsText(1, 5000));
    t.store.db.pragma('auto_vacuum = NONE');
    t.store.db.exec('VACUUM');
    const before = storeUsage(t.store);
    // One `now` for the cutoff and the run: the cutoff falls exactly on event 4000.
    const now = Date.now();
    const outcome = await applyRetention(
      t.store,
      { keepMs: now - timeOf(4000), keepLabelsMs: FOREVER, maxBytes: null },
      { reason: 'test', now },
    );
    expect(outcome.denials).toBe(3999);
    expect(outcome.shrunkBytes).toBe(0);
    expect(storeUsage(t.store).fileBytes).toBe(before.fileBytes);
    t.store.close();
    const reopened = openStore(t.path);
    try {
      reopened.db.pragma('auto_vacuum = INCREMENTAL');
      reopened.db.exec('VACUUM');
      expect(storeUsage(reopened).fileBytes).toBeLessThan(before.fileBytes / 2);
    } finally {
      reopened.close();
    }
  });
});

describe('the alert outbox under retention', () => {
  it('alerts sent or given up before the label cutoff go; one a receiver still waits for stays', () => {
    const day = 86_400_000;
    const now = Date.now();
    const open = (key: string, at: number) =>
      insertAlert(t.store, {
        key,
        groupKey: key,
        rule: 'kind',
        kind: 'cross-vm',
        host: 'hv1',
        vm: { uuid: A, name: 'a' },
        sourceLabel: null,
        targetVms: [],
        threshold: 1,
        time: at,
        denialId: 1,
        openedAt: at,
        notBefore: at,
      });
    open('old-sent', now - 500 * day);
    open('old-pending', now - 500 * day);
    open('recent', now - day);
    promoteDueAlerts(t.store, now - 500 * day, 60_000, ['hook']); // the two old ones become due
    promoteDueAlerts(t.store, now - day, 60_000, ['hook']);
    const id = (key: string) => count(`SELECT id FROM alert WHERE key = '${key}'`);
    markDelivered(t.store, id('old-sent'), 'hook', now - 500 * day);
    markDelivered(t.store, id('recent'), 'hook', now - day);
    expect(prune(0, { labelsBefore: now - 400 * day })).toMatchObject({ alerts: 1 });
    expect(listAlerts(t.store, { limit: 10 }).map((l) => [l.alert.key, l.state])).toEqual([
      ['recent', 'sent'],
      ['old-pending', 'pending'],
    ]);
    expect(count('SELECT count(*) FROM alert_delivery')).toBe(2);
  });
});
