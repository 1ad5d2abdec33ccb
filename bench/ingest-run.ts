/**
 * One backfill of a file into a fresh database, in a process of its own (bench/ingest.ts
 * starts it): node dist/bench/ingest-run.js FILE [worker|inline|writer]. `writer` packs
 * every batch first and times only their writing: how fast ingest could be with a
 * parser that cost nothing.
 */

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditStream } from '../collector/audit-stream.js';
import { ingestFiles } from '../collector/backfill.js';
import { type EventBatch, EventBatchPacker } from '../collector/event-batch.js';
import { StoreWriter, type WriterCounts } from '../collector/store-writer.js';
import { openStore } from '../store/store.js';
import { WalCheckpointer } from '../store/wal-checkpointer.js';

const file = process.argv[2] as string;
// Where it parses: 'worker' (a thread beside the writer) or 'inline' (the writing thread).
const mode = (process.argv[3] ?? 'worker') as 'worker' | 'inline' | 'writer';
const dir = mkdtempSync(join(tmpdir(), 'svirt-bench-ingest-'));
const store = openStore(join(dir, 'audit.db'), { durability: 'normal' });
let peakRss = process.memoryUsage().rss;
// What JavaScript holds (heap and buffers) on this thread, without SQLite's page cache.
let peakJs = 0;
// Resident memory that is not the mapped database file (pages the kernel may drop at will).
let peakAnon = 0;
const anonRss = () => Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
const sample = () => {
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakJs = Math.max(peakJs, m.heapUsed + m.external);
  peakAnon = Math.max(peakAnon, anonRss());
};

/** Every batch of the file, packed as ingest's parse thread packs them. */
function packAll(path: string): { batches: EventBatch[]; records: number } {
  const packer = new EventBatchPacker();
  const stream = new AuditStream(packer);
  const batches: EventBatch[] = [];
  const text = readFileSync(path);
  for (let at = 0; at < text.length; at += 1 << 20) {
    stream.push(text.subarray(at, at + (1 << 20)));
    if (packer.pending >= 2000) batches.push(packer.finish());
  }
  stream.end();
  batches.push(packer.finish());
  return { batches, records: stream.counters.records };
}

let start = process.hrtime.bigint();
let summary: { bytes: number; records: number; writer: WriterCounts };
if (mode === 'writer') {
  const { batches, records } = packAll(file);
  const writer = new StoreWriter(store, { localHost: 'bench', sourceId: null });
  const checkpointer = WalCheckpointer.start(store);
  start = process.hrtime.bigint();
  for (const batch of batches) {
    writer.writeBatch(batch, null);
    sample();
  }
  await checkpointer.stop();
  summary = { bytes: statSync(file).size, records, writer: writer.counts };
} else summary = await ingestFiles(store, [file], { localHost: 'bench', parseThread: mode, onProgress: sample });
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
