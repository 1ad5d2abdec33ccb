import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles, rotationOrder } from '../../collector/backfill.js';
import { allocateLabel } from '../../allocation/allocate.js';
import { listAllocations } from '../../store/allocations.js';
import { countTrail } from '../../store/audit-trail.js';
import { eventRecords } from '../helpers/event-records.js';
import { requireBuilt } from '../helpers/built.js';
import { CORPUS, corpusAvailable, REPO_ROOT } from '../helpers/fixtures.js';
import { eventKeys, eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
beforeEach(() => {
  t = openTempStore({ durability: 'normal' });
});
afterEach(() => t.cleanup());

const storedKeys = () =>
  (
    t.store.db.prepare('SELECT time, serial FROM event ORDER BY time, serial').all() as {
      time: number;
      serial: number;
    }[]
  ).map((r) => `${r.time}:${r.serial}`);

describe('ingest', () => {
  it('orders a rotated series oldest first whatever order it is given in', () => {
    expect(rotationOrder(['/l/audit.log', '/l/audit.log.2.gz', '/l/audit.log.10', '/l/audit.log.1'])).toEqual([
      '/l/audit.log.10',
      '/l/audit.log.2.gz',
      '/l/audit.log.1',
      '/l/audit.log',
    ]);
  });
});

// Every file-reading case on both threads: ingest parses large files on a worker thread
// beside the writer (the compiled module: its worker is a compiled file) and small ones,
// and every file when someone listens for the parsed events, on its own.
type Ingest = typeof ingestFiles;
const threads: { name: string; ingest: Ingest }[] = [
  {
    name: 'parsed on the writing thread',
    ingest: (store, files, o) => ingestFiles(store, files, { ...o, parseThread: 'inline' }),
  },
  {
    name: 'parsed on a worker thread',
    ingest: async (store, files, o) => {
      const built = (await import(
        join(REPO_ROOT, 'dist', 'collector', 'backfill.js')
      )) as typeof import('../../collector/backfill.js');
      // Batches of 50 events: a file of a few hundred events crosses threads in many batches.
      return built.ingestFiles(store, files, { batchEvents: 50, ...o, parseThread: 'worker' });
    },
  },
];

describe.each(threads)('ingest, $name', ({ ingest }) => {
  beforeAll(() => requireBuilt());

  it('stores every event of a series once; a second run stores nothing new', async () => {
    const files = [join(t.dir, 'audit.log'), join(t.dir, 'audit.log.1'), join(t.dir, 'audit.log.2.gz')];
    writeFileSync(files[2] as string, gzipSync(eventsText(1, 100)));
    writeFileSync(files[1] as string, eventsText(101, 200));
    writeFileSync(files[0] as string, eventsText(201, 250));
    const first = await ingest(t.store, files, { localHost: 'hv1' });
    expect(first.writer.stored).toBe(250);
    expect(first.writer.denials).toBe(250);
    expect(storedKeys()).toEqual(eventKeys(1, 250));
    const again = await ingest(t.store, files, { localHost: 'hv1' });
    expect(again.writer.stored).toBe(0);
    expect(again.records).toBe(0);
    expect(countTrail(t.store)).toMatchObject({ events: 250, denials: 250 });
  });

  it('a gzip file cut short: what came before the cut is stored, the error is reported, the next file is read', async () => {
    const cut = join(t.dir, 'audit.log.1.gz');
    const next = join(t.dir, 'audit.log');
    const gz = gzipSync(eventsText(1, 2000));
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    writeFileSync(next, eventsText(2001, 2010));
    const first = await ingest(t.store, [next, cut], { localHost: 'hv1' });
    const [cutFile, nextFile] = first.perFile;
    expect(cutFile?.error).toMatch(
      /^the gzip data is cut short or corrupt after \d+ uncompressed bytes \(unexpected end of file\)/,
    );
    expect(nextFile).toMatchObject({ path: next });
    expect(nextFile?.error).toBeUndefined();
    // A prefix of the cut file's events, then all of the next file's.
    const keys = storedKeys();
    const fromCut = keys.length - 10;
    expect(fromCut).toBeGreaterThan(100);
    expect(keys).toEqual([...eventKeys(1, fromCut), ...eventKeys(2001, 2010)]);
    // Read again: nothing new, the same error.
    const again = await ingest(t.store, [cut], { localHost: 'hv1' });
    expect(again.writer.stored).toBe(0);
    expect(again.perFile[0]?.error).toMatch(/cut short or corrupt/);
  });

  it('a file that grew is read from its checkpoint on', async () => {
    const file = join(t.dir, 'audit.log');
    writeFileSync(file, eventsText(1, 10));
    await ingest(t.store, [file], { localHost: 'hv1' });
    writeFileSync(file, eventsText(1, 15));
    const more = await ingest(t.store, [file], { localHost: 'hv1' });
    expect(more.records).toBe(15);
    expect(more.writer.stored).toBe(5);
  });

  it('reads stdin (-) and ausearch --raw output', async () => {
    const stdin = Readable.from([Buffer.from(`----\ntime->Fri Nov 21 10:00:00 2025\n${eventsText(1, 3)}`)]);
    const s = await ingest(t.store, ['-'], { localHost: 'hv1', stdin });
    expect(s.writer.stored).toBe(3);
  });

  it('stores the raw records compressed in blocks, and gives them back byte for byte', async () => {
    const text = eventsText(1, 2000);
    const file = join(t.dir, 'many.log');
    writeFileSync(file, text);
    await ingest(t.store, [file], { localHost: 'hv1' });
    const blockBytes = t.store.db.prepare('SELECT sum(length(data)) FROM raw_block').pluck().get() as number;
    expect(blockBytes).toBeLessThan(Buffer.byteLength(text) / 5);
    expect(t.store.db.prepare("SELECT count(*) FROM event WHERE raw <> ''").pluck().get()).toBe(0);
    const ids = t.store.db.prepare('SELECT id FROM event ORDER BY time').pluck().all() as number[];
    const back = ids.map((id) => eventRecords(t.store, id)?.join('\n'));
    expect(`${back.join('\n')}\n`).toBe(text);
  });

  it('keeps the raw records verbatim and every unreadable line with its reason', async () => {
    const file = join(t.dir, 'mixed.log');
    writeFileSync(file, `${eventsText(1, 2)}garbage line\ntype=AVC msg=audit(17637\n`);
    await ingest(t.store, [file], { localHost: 'hv1' });
    const first = t.store.db.prepare('SELECT id FROM event ORDER BY serial LIMIT 1').pluck().get() as number;
    expect(eventRecords(t.store, first)?.join('\n')).toBe(eventsText(1, 1).trimEnd());
    const unparsed = t.store.db.prepare('SELECT reason, line FROM unparsed_line ORDER BY offset').all();
    expect(unparsed).toEqual([
      { reason: 'not-audit', line: 'garbage line' },
      { reason: 'malformed-header', line: 'type=AVC msg=audit(17637' },
    ]);
  });

  it('records arriving after their event was stored are added to it, with their denials, once', async () => {
    const avc = (serial: number, sec: number, name: string) =>
      `type=AVC msg=audit(${sec}.000:${serial}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="${name}" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0`;
    const syscall = (serial: number, sec: number) =>
      `type=SYSCALL msg=audit(${sec}.000:${serial}): arch=c000003e syscall=257 success=no exit=-13 pid=7 comm="qemu-kvm" exe="/usr/libexec/qemu-kvm"`;
    // Event 5's AVC, then event 6 three seconds later (event 5 times out and is stored),
    // then event 5's SYSCALL and a second AVC: late.
    const lines = [avc(5, 1000, 'a'), avc(6, 1003, 'b'), syscall(5, 1000), avc(5, 1000, 'c')];
    const file = join(t.dir, 'late.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const first = await ingest(t.store, [file], { localHost: 'hv1' });
    expect(first.writer).toMatchObject({ stored: 2, lateRecordsAdded: 2, denials: 3 });
    const five = t.store.db.prepare('SELECT id, types FROM event WHERE serial = 5').get() as {
      id: number;
      types: string;
    };
    expect(five.types).toBe('AVC,SYSCALL,AVC');
    expect(eventRecords(t.store, five.id)).toEqual([lines[0], lines[2], lines[3]]);
    // Event 6 shares the batch's compressed block with event 5's first part: still whole.
    const six = t.store.db.prepare('SELECT id FROM event WHERE serial = 6').pluck().get() as number;
    expect(eventRecords(t.store, six)).toEqual([lines[1]]);
    const names = t.store.db.prepare('SELECT tname FROM denial WHERE event_id = ? ORDER BY id').all(five.id);
    expect(names).toEqual([{ tname: 'a' }, { tname: 'c' }]);

    // The same lines again (another copy of the file): nothing is added twice.
    const copy = join(t.dir, 'late-copy.log');
    writeFileSync(copy, `${lines.join('\n')}\n`);
    const again = await ingest(t.store, [copy], { localHost: 'hv1' });
    expect(again.writer).toMatchObject({ stored: 0, lateRecordsAdded: 0, denials: 0 });
    expect(countTrail(t.store)).toMatchObject({ events: 2, denials: 3 });
  });

  it('a re-read holding both stored and new records of an event stores the new records and their denials only', async () => {
    const avc = (name: string) =>
      `type=AVC msg=audit(1000.000:5): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="${name}" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0`;
    const syscall =
      'type=SYSCALL msg=audit(1000.000:5): arch=c000003e syscall=257 success=no exit=-13 pid=7 comm="qemu-kvm" exe="/usr/libexec/qemu-kvm"';
    // As after a crash: the event was stored with its first AVC; the file read again holds
    // that AVC and the records that came after it.
    const first = join(t.dir, 'part.log');
    writeFileSync(first, `${avc('a')}\n`);
    await ingest(t.store, [first], { localHost: 'hv1' });
    const again = join(t.dir, 'whole.log');
    writeFileSync(again, `${[avc('a'), syscall, avc('c')].join('\n')}\n`);
    const summary = await ingest(t.store, [again], { localHost: 'hv1' });
    expect(summary.writer).toMatchObject({ stored: 0, lateRecordsAdded: 2, denials: 1 });
    const rows = t.store.db.prepare('SELECT tname, syscall FROM denial ORDER BY id').all();
    expect(rows).toEqual([
      { tname: 'a', syscall: null },
      { tname: 'c', syscall: 257 },
    ]);
  });

  it('a late part is added even after more than 4,096 other events (beyond what the assembler remembers)', async () => {
    const avc = (serial: number, sec: number, name: string) =>
      `type=AVC msg=audit(${sec}.000:${serial}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="${name}" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0`;
    const between = Array.from({ length: 5000 }, (_, i) => [
      `type=SYSCALL msg=audit(1003.000:${10 + i}): arch=c000003e syscall=0 success=yes exit=0 pid=1`,
      `type=EOE msg=audit(1003.000:${10 + i}): `,
    ]).flat();
    const lines = [avc(5, 1000, 'a'), ...between, avc(5, 1000, 'c')];
    const file = join(t.dir, 'very-late.log');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const summary = await ingest(t.store, [file], { localHost: 'hv1' });
    expect(summary.writer).toMatchObject({ lateRecordsAdded: 1, denials: 2 });
    const five = t.store.db.prepare('SELECT id, types FROM event WHERE serial = 5').get() as {
      id: number;
      types: string;
    };
    expect(five.types).toBe('AVC,AVC');
    const names = t.store.db.prepare('SELECT tname FROM denial WHERE event_id = ? ORDER BY id').all(five.id);
    expect(names).toEqual([{ tname: 'a' }, { tname: 'c' }]);
  });

  it("learns allocations from libvirt's VIRT_MACHINE_ID and VIRT_CONTROL, merged with the hook's", async () => {
    const uuid = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
    const other = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';
    const id = (serial: number, vm: string, u: string, cats: string) =>
      `type=VIRT_MACHINE_ID msg=audit(1763719200.${serial}:${serial}): pid=900 uid=0 auid=4294967295 ses=4294967295 msg='virt=kvm vm="${vm}" uuid=${u} vm-ctx=system_u:system_r:svirt_t:s0:${cats} img-ctx=system_u:object_r:svirt_image_t:s0:${cats} model=selinux exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`;
    const control = (serial: number, op: string, vm: string, u: string) =>
      `type=VIRT_CONTROL msg=audit(1763719200.${serial}:${serial}): pid=900 uid=0 msg='virt=kvm op=${op} reason=booted vm="${vm}" uuid=${u} vm-pid=4242 exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`;
    // The hook already recorded web1's start; db1 was started without the hook.
    allocateLabel(t.store, {
      uuid,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'hook',
      label: 'system_u:system_r:svirt_t:s0:c1,c2',
      startedAt: 1763719200100,
    });
    const file = join(t.dir, 'virt.log');
    writeFileSync(
      file,
      [
        id(101, 'web1', uuid, 'c1,c2'),
        control(102, 'start', 'web1', uuid),
        id(103, 'db1', other, 'c3,c4'),
        control(104, 'start', 'db1', other),
        control(500, 'stop', 'db1', other),
      ].join('\n') + '\n',
    );
    const s = await ingest(t.store, [file], { localHost: 'hv1' });
    expect(s.writer.opened).toBe(1);
    expect(s.writer.merged).toBe(1);
    const rows = listAllocations(t.store);
    expect(rows.map((a) => [a.name, a.source, a.categories, a.pid, a.endedAt])).toEqual([
      ['db1', 'audit', 'c3,c4', 4242, 1763719200500],
      ['web1', 'hook', 'c1,c2', 4242, null],
    ]);
  });

  it.runIf(corpusAvailable())('ingests the field log and keeps every one of its 18 unreadable lines', async () => {
    const s = await ingest(t.store, [join(CORPUS, 'field_avcs.txt')], { localHost: 'hv1' });
    expect(s.writer.unparsed).toBe(18);
    expect(countTrail(t.store).unparsed).toBe(18);
    expect(s.writer.denials).toBeGreaterThan(60);
  });
});

describe('ingest from the command line', () => {
  it('the CLI prints a one-line summary, or JSON', async () => {
    const file = join(t.dir, 'cli.log');
    writeFileSync(file, eventsText(1, 5));
    const { cli } = await import('../helpers/cli-run.js');
    const text = await cli(['ingest', '--db', join(t.dir, 'cli.db'), file]);
    expect(text.stdout).toMatch(/^ingested 1 file\(s\), .* 15 records, 5 new events \(0 already stored\), 5 denials/);
    const json = await cli(['ingest', '--db', join(t.dir, 'cli.db'), '--json', file]);
    expect(JSON.parse(json.stdout)).toMatchObject({ files: 1, eventsStored: 0, records: 0 });
  });

  it('ingest - from a terminal says how to end the input; from a pipe it says nothing', async () => {
    const { runCli } = await import('../../cli/program.js');
    const run = async (isTTY: boolean) => {
      let stderr = '';
      const stdin = Object.assign(Readable.from([eventsText(1, 2)]), { isTTY });
      const status = await runCli(['ingest', '--db', join(t.dir, `tty-${isTTY}.db`), '-'], {
        stdout: { write: () => true },
        stderr: { write: (s: string) => (stderr += s) },
        stdin,
        env: {},
        version: '0.0.0-test',
      });
      return { status, stderr };
    };
    expect(await run(true)).toEqual({
      status: 0,
      stderr: 'svirt-audit ingest: reading audit records from the terminal; end with Ctrl-D (or pipe a log in)\n',
    });
    expect(await run(false)).toEqual({ status: 0, stderr: '' });
  });
});
