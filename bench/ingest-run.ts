/**
 * One backfill of a file into a fresh database, in a process of its own (bench/ingest.ts
 * starts it): node dist/bench/ingest-run.js FILE [worker|inline].
 */

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestFiles } from '../collector/backfill.js';
import { openStore } from '../store/store.js';

const file = process.argv[2] as string;
// Where it parses: 'worker' (a thread beside the writer) or 'inline' (the writing thread).
const parseThread = (process.argv[3] ?? 'worker') as 'worker' | 'inline';
const dir = mkdtempSync(join(tmpdir(), 'svirt-bench-ingest-'));
const store = openStore(join(dir, 'audit.db'), { durability: 'normal' });
let peakRss = process.memoryUsage().rss;
// What JavaScript holds (heap and buffers) on this thread, without SQLite's page cache.
let peakJs = 0;
// Resident memory that is not the mapped database file (pages the kernel may drop at will).
let peakAnon = 0;
const anonRss = () => Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
const start = process.hrtime.bigint();
const summary = await ingestFiles(store, [file], {
  localHost: 'bench',
  parseThread,
  onProgress: () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakJs = Math.max(peakJs, m.heapUsed + m.external);
    peakAnon = Math.max(peakAnon, anonRss());
  },
});
const ms = Number(process.hrtime.bigint() - start) / 1e6;
// What the store takes on disk for these records (bench/README.md: store ÷ log).
store.db.pragma('wal_checkpoint(TRUNCATE)');
const storeBytes = statSync(join(dir, 'audit.db')).size;
store.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    ms,
    bytes: summary.bytes,
    records: summary.records,
    stored: summary.writer.stored,
    denials: summary.writer.denials,
    peakRss,
    peakJs,
    peakAnon,
    storeBytes,
  }),
);
