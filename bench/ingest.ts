/**
 * bench/ingest: backfill of a 200 MB log into a fresh database (parse + store, all
 * indexes), records/s and MB/s, against `aureport --avc` on the same file in the same run
 * (it extracts the same denials and stores nothing); `ausearch -m AVC --raw` as a second
 * column; peak RSS; the store's size ÷ the log's. Target: ours / aureport >= 0.5, memory flat in file size.
 *
 * Run: npm run build && node dist/bench/ingest.js [megabytes=200]
 */

import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { aureportAvc, ausearchAvc } from './peers.js';
import { formatRow, systemLine } from './system-line.js';
import { largeLog } from './workloads.js';

const megabytes = Number(process.argv[2] ?? 200);
const file = await largeLog(megabytes);
const size = statSync(file).size;
const r = spawnSync(process.execPath, [join(import.meta.dirname, 'ingest-run.js'), file], { encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);
const ours = JSON.parse(r.stdout) as {
  ms: number;
  records: number;
  stored: number;
  denials: number;
  peakRss: number;
  storeBytes: number;
};
const report = aureportAvc(file);
const search = ausearchAvc(file);
const mbps = (ms: number) => size / 1e6 / (ms / 1000);
const widths = [30, 10, 14, 14, 18, 18];
console.log(
  `file: ${file} (${(size / 1e6).toFixed(0)} MB): ${ours.records} records, ${ours.stored} events and ${ours.denials} denials stored`,
);
console.log(
  formatRow(['workload', 'MB/s', 'records/s', 'peak RSS MB', '÷ aureport --avc', '÷ ausearch --raw'], widths),
);
console.log(
  formatRow(
    [
      'svirt-audit ingest (fresh db)',
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
console.log(
  `store: ${(ours.storeBytes / 1e6).toFixed(1)} MB, ${(ours.storeBytes / ours.denials).toFixed(0)} bytes per denial, store ÷ log ${(ours.storeBytes / size).toFixed(2)} (goal <= 1.0)`,
);
console.log('target: ÷ aureport >= 0.5');
console.log(systemLine());
