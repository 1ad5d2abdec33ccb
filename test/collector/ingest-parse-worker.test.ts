/**
 * Ingest's parse thread (collector/ingest-parse-worker.ts) must store what parsing on the
 * writing thread stores, row for row, on every corpus file and on hostile bytes; and a
 * store that refuses the batch must stop the thread and leave the checkpoint at the
 * last commit, so the next run stores the rest once.
 */

import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { eventRawText, RAW_COLUMNS, type RawRef } from '../../store/raw-blocks.js';
import { openStore, type Store } from '../../store/store.js';
import { requireBuilt } from '../helpers/built.js';
import { CORPUS, corpusAvailable, REPO_ROOT } from '../helpers/fixtures.js';
import { eventKeys, eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const EVENTS = 30_000;
const scratch = tempDir();
let stores = 0;
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

/** The compiled module: its worker is a compiled file. */
async function builtIngest(): Promise<typeof ingestFiles> {
  const built = (await import(join(REPO_ROOT, 'dist', 'collector', 'backfill.js'))) as {
    ingestFiles: typeof ingestFiles;
  };
  return built.ingestFiles;
}

/** Everything ingest writes, ids left out (they follow insertion order, which may differ). */
function contents(store: Store) {
  const all = (sql: string) => store.db.prepare(sql).all();
  const events = (
    store.db
      .prepare(
        `SELECT e.host_id, e.time, e.serial, e.types, e.source_offset, ${RAW_COLUMNS} FROM event e ORDER BY 1, 2, 3`,
      )
      .all() as (RawRef & Record<string, unknown>)[]
  ).map(({ raw, raw_block, raw_at, raw_len, ...rest }) => ({
    ...rest,
    records: eventRawText(store, { raw, raw_block, raw_at, raw_len }),
  }));
  const denials = (
    store.db.prepare('SELECT * FROM denial ORDER BY host_id, time, serial, id').all() as Record<string, unknown>[]
  ).map((row) => {
    const rest = { ...row };
    for (const id of ['id', 'event_id', 'shape_id']) delete rest[id];
    return rest;
  });
  return {
    events,
    denials,
    unparsed: all('SELECT offset, reason, detail, line FROM unparsed_line ORDER BY offset'),
    macStatus: all('SELECT host_id, time, enforcing FROM mac_status ORDER BY 1, 2'),
    allocations: all(
      'SELECT host_id, vm_uuid, vm_name, label, image_label, categories, pid, source, started_at, ended_at FROM allocation ORDER BY 1, 9, 2',
    ),
    sources: all('SELECT path, offset FROM source ORDER BY path'),
  };
}

async function ingestBoth(files: string[], batchEvents: number) {
  const inline = openStore(join(scratch.dir, `s${stores++}.db`), { durability: 'normal' });
  const worker = openStore(join(scratch.dir, `s${stores++}.db`), { durability: 'normal' });
  try {
    const a = await ingestFiles(inline, files, { localHost: 'hv1', batchEvents, parseThread: 'inline' });
    const b = await (await builtIngest())(worker, files, { localHost: 'hv1', batchEvents, parseThread: 'worker' });
    return { summaries: [a, b], contents: [contents(inline), contents(worker)] };
  } finally {
    inline.close();
    worker.close();
  }
}

describe('ingest parsed on a worker thread', () => {
  it.runIf(corpusAvailable())('stores what parsing on the writing thread stores, for every corpus file', async () => {
    const files = readdirSync(CORPUS)
      .filter((f) => f !== 'README.md')
      .map((f) => join(CORPUS, f));
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const {
        summaries,
        contents: [inline, worker],
      } = await ingestBoth([file], 7);
      expect(worker, file).toEqual(inline);
      expect(summaries[1]?.writer, file).toEqual(summaries[0]?.writer);
      expect(summaries[1]?.perFile, file).toEqual(summaries[0]?.perFile);
    }
  });

  const CUT_LINE = 'type=AVC msg=audit(1763719400.000:901): avc:  denied  { wri';
  it('stores the same from hostile bytes: NUL, invalid UTF-8, CR, an overlong line, a gzip file, a cut last line', async () => {
    const garbage = Buffer.concat([
      Buffer.from(eventsText(1, 40)),
      Buffer.from(
        'type=AVC msg=audit(1763719300.000:900): avc:  denied  { read } for  pid=1 comm="q\0x" name="\xff\xfe',
      ),
      Buffer.from([0xc3, 0x28, 0xe2, 0x82, 0x0a]),
      Buffer.from(`\r\n${'x'.repeat(1.5 * (1 << 20))}\n`),
      Buffer.from(eventsText(41, 80).replaceAll('\n', '\r\n')),
      Buffer.from(eventsText(81, 120)),
      Buffer.from(CUT_LINE),
    ]);
    const plain = join(scratch.dir, 'audit.log');
    const gz = join(scratch.dir, 'audit.log.1.gz');
    writeFileSync(plain, garbage);
    writeFileSync(gz, gzipSync(eventsText(200, 400)));
    const {
      summaries,
      contents: [inline, worker],
    } = await ingestBoth([plain, gz], 16);
    expect(worker).toEqual(inline);
    expect(summaries[1]?.perFile).toEqual(summaries[0]?.perFile);
    // The last line has no newline: held back, the checkpoint before it.
    expect(summaries[1]?.perFile.find((f) => f.path === plain)?.heldBackBytes).toBe(CUT_LINE.length);
    expect(inline?.unparsed.length).toBeGreaterThan(0);
  });

  it('a store that refuses the batch stops the thread; the checkpoint stays at the last commit and the next run stores the rest once', async () => {
    // 16 MB: batches are cut after each 1 MiB read, so this is read in 16 or more.
    const file = join(scratch.dir, 'busy.log');
    writeFileSync(file, eventsText(1, EVENTS));
    const path = join(scratch.dir, 'busy.db');
    const store = openStore(path, { durability: 'normal', busyTimeoutMs: 50 });
    const other = openStore(path);
    try {
      const ingest = await builtIngest();
      let batches = 0;
      const run = ingest(store, [file], {
        localHost: 'hv1',
        parseThread: 'worker',
        onProgress: () => {
          // After the third committed batch, another process takes the write lock.
          if (++batches === 3) other.db.prepare('BEGIN IMMEDIATE').run();
        },
      });
      await expect(run).rejects.toMatchObject({ code: 'DB_BUSY' });
      other.db.prepare('ROLLBACK').run();
      const stored = (store.db.prepare('SELECT count(*) AS n FROM event').get() as { n: number }).n;
      const checkpoint = (store.db.prepare('SELECT offset FROM source').get() as { offset: number }).offset;
      expect(stored).toBeGreaterThanOrEqual(300);
      expect(stored).toBeLessThan(EVENTS);
      expect(checkpoint).toBeGreaterThan(0);
      expect(checkpoint).toBeLessThan(Buffer.byteLength(eventsText(1, EVENTS)));

      const again = await ingest(store, [file], { localHost: 'hv1', parseThread: 'worker' });
      expect(again.writer.stored).toBe(EVENTS - stored);
      const keys = store.db.prepare('SELECT time, serial FROM event ORDER BY time, serial').all() as {
        time: number;
        serial: number;
      }[];
      expect(keys.map((r) => `${r.time}:${r.serial}`)).toEqual(eventKeys(1, EVENTS));
    } finally {
      other.close();
      store.close();
    }
  });

  it('is refused, with why, where it cannot hand parsed events to a listener', async () => {
    const file = join(scratch.dir, 'listen.log');
    writeFileSync(file, eventsText(1, 2));
    const store = openStore(join(scratch.dir, 'listen.db'));
    try {
      await expect(
        (await builtIngest())(store, [file], { localHost: 'hv1', parseThread: 'worker', onStored: () => undefined }),
      ).rejects.toThrow('parsing on a worker hands no parsed events to onStored');
    } finally {
      store.close();
    }
  });
});
