/**
 * bench/ingest: backfill of a 200 MB log into a fresh database (parse + store, all
 * indexes), records/s and MB/s, against `aureport --avc` on the same file in the same run
 * (it extracts the same denials and stores nothing); `ausearch -m AVC --raw` as a second
 * column; parsed on a worker thread beside the writer (2 threads) and on the writing thread
 * (1), and its writer alone (every batch packed beforehand: the ceiling for any parser);
 * peak RSS, against a log a quarter the size; the store's size ÷ the log's. Target:
 * ours / aureport >= 0.5, memory flat in file size.
 *
 * Run: npm run build && node dist/bench/ingest.js [megabytes=200] [runs=2]
 */

import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { aureportAvc, ausearchAvc } from './peers.js';
import { formatRow, systemLine } from './system-line.js';
import { largeLog } from './workloads.js';

const megabytes = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 2);
const file = await largeLog(megabytes);
const size = statSync(file).size;

interface Run {
  ms: number;
  records: number;
  stored: number;
  denials: number;
  peakRss: number;
  /** Resident memory that is not the mapped database file. */
  peakAnon: number;
  /** JavaScript's heap and buffers on the writing thread. */
  peakJs: number;
  storeBytes: number;
}

type Mode = 'inline' | 'worker' | 'writer';

function ingestRun(log: string, thread: Mode): Run {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'ingest-run.js'), log, thread], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Run;
}

/** The fastest of `runs` runs, each in a fresh process, alternating the modes. */
const best: Record<Mode, Run | undefined> = { inline: undefined, worker: undefined, writer: undefined };
for (let i = 0; i < runs; i++)
  for (const thread of ['worker', 'inline', 'writer'] as const) {
    const run = ingestRun(file, thread);
    if (!best[thread] || run.ms < (best[thread] as Run).ms) best[thread] = run;
  }
const inline = best.inline as Run;
const worker = best.worker as Run;
const writerAlone = best.writer as Run;
// Memory flat in file size: the same ingest over a log a quarter the size.
const small = megabytes >= 100 ? ingestRun(await largeLog(Math.round(megabytes / 4)), 'worker') : undefined;
const report = aureportAvc(file);
const search = ausearchAvc(file);
const mbps = (ms: number) => size / 1e6 / (ms / 1000);
const widths = [44, 10, 14, 14, 18, 18];
console.log(
  `file: ${file} (${(size / 1e6).toFixed(0)} MB): ${worker.records} records, ${worker.stored} events and ${worker.denials} denials stored; best of ${runs}`,
);
console.log(
  formatRow(['workload', 'MB/s', 'records/s', 'peak RSS MB', '÷ aureport --avc', '÷ ausearch --raw'], widths),
);
for (const [name, ours] of [
  ['svirt-audit ingest, 2 threads (parse | write)', worker],
  ['svirt-audit ingest, 1 thread', inline],
  // The ceiling for any parser: the writer with every batch packed beforehand.
  ['  its writer alone (parsing not timed)', writerAlone],
] as const)
  console.log(
    formatRow(
      [
        name,
        mbps(ours.ms).toFixed(1),
        (ours.records / (ours.ms / 1000)).toFixed(0),
        (ours.peakRss / 2 ** 20).toFixed(0),
        report.ms ? (mbps(ours.ms) / mbps(report.ms)).toFixed(3) : '-',
        search.ms ? (mbps(ours.ms) / mbps(search.ms)).toFixed(3) : '-',
      ],
      widths,
    ),
  );
if (report.ms)
  console.log(formatRow(['aureport --avc (no store)', mbps(report.ms).toFixed(0), '-', '-', '1.000', '-'], widths));
else console.log(`aureport: skipped: ${report.skipped}`);
if (search.ms)
  console.log(formatRow(['ausearch -m AVC --raw', mbps(search.ms).toFixed(0), '-', '-', '-', '1.000'], widths));
if (small) {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const line = (name: string, of: (r: Run) => number) =>
    `${name} ${mb(of(worker))} MB over ${megabytes} MB, ${mb(of(small))} MB over ${Math.round(megabytes / 4)} MB: ratio ${(of(worker) / of(small)).toFixed(2)}`;
  console.log(`peak memory, 2 threads (goal: RSS ratio <= 1.2):`);
  console.log(`  ${line('RSS', (r) => r.peakRss)}`);
  // SQLite's page cache (cache_size, 64 MiB) fills only once the store outgrows it.
  console.log(`  ${line('RSS without the mapped database file', (r) => r.peakAnon)}`);
  console.log(`  ${line("JavaScript's heap and buffers (writing thread)", (r) => r.peakJs)}`);
}
console.log(
  `store: ${(worker.storeBytes / 1e6).toFixed(1)} MB, ${(worker.storeBytes / worker.denials).toFixed(0)} bytes per denial, store ÷ log ${(worker.storeBytes / size).toFixed(2)} (goal <= 1.0)`,
);
console.log('target: ÷ aureport >= 0.5');
console.log(systemLine());
