/** One backfill of a file into a fresh database, in a process of its own (bench/ingest.ts starts it). */

import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestFiles } from '../collector/backfill.js';
import { openStore } from '../store/store.js';

const file = process.argv[2] as string;
const dir = mkdtempSync(join(tmpdir(), 'svirt-bench-ingest-'));
const store = openStore(join(dir, 'audit.db'), { durability: 'normal' });
let peakRss = process.memoryUsage().rss;
const start = process.hrtime.bigint();
const summary = await ingestFiles(store, [file], {
  localHost: 'bench',
  onProgress: () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
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
    storeBytes,
  }),
);
