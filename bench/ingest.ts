/**
 * bench/ingest: backfill of a 200 MB+ log into a fresh database (parse + store, all
 * indexes), records/s and MB/s, beside ausearch -m AVC --raw scanning the same file in
 * the same run; peak RSS. Target: at least 0.15x ausearch's rate, memory flat in file size.
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
const ours = JSON.parse(r.stdout) as { ms: number; records: number; stored: number; denials: number; peakRss: number };
const peer = ausearchAvc(file);
const report = aureportAvc(file);
const mbps = (ms: number) => size / 1e6 / (ms / 1000);
const widths = [30, 10, 14, 14, 10];
console.log(
  `file: ${file} (${(size / 1e6).toFixed(0)} MB): ${ours.records} records, ${ours.stored} events and ${ours.denials} denials stored`,
);
console.log(formatRow(['workload', 'MB/s', 'records/s', 'peak RSS MB', 'ratio'], widths));
console.log(
  formatRow(
    [
      'svirt-audit ingest (fresh db)',
      mbps(ours.ms).toFixed(1),
      (ours.records / (ours.ms / 1000)).toFixed(0),
      (ours.peakRss / 2 ** 20).toFixed(0),
      peer.ms ? (mbps(ours.ms) / mbps(peer.ms)).toFixed(3) : '-',
    ],
    widths,
  ),
);
if (peer.ms) console.log(formatRow(['ausearch -m AVC --raw', mbps(peer.ms).toFixed(0), '-', '-', '1.000'], widths));
else console.log(`ausearch: skipped: ${peer.skipped}`);
// aureport --avc extracts the same denials but stores nothing: the ratio shows what the
// store adds on top of the extraction both tools do.
if (report.ms)
  console.log(
    formatRow(['aureport --avc (no store)', mbps(report.ms).toFixed(0), '-', '-', '-'], widths),
    `ours / aureport = ${(mbps(ours.ms) / mbps(report.ms)).toFixed(3)}`,
  );
console.log('target ratio >= 0.15');
console.log(systemLine());
