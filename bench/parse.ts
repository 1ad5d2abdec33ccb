/**
 * bench/parse: lines/s and MB/s of parse + event assembly + denial extraction over a
 * 200 MB+ log, beside ausearch -m AVC --raw on the same file in the same run.
 * Target: at least 0.5x ausearch's MB/s, with flat memory (peak RSS reported).
 *
 * ausearch --raw groups events and prints the AVC ones verbatim; it reads no field.
 * aureport --avc is also timed: it extracts every AVC's fields into a report row, the
 * work our parser does per denial, so its ratio says how we compare on the same job.
 *
 * Run: npm run build && node dist/bench/parse.js [megabytes=200] [runs=3]
 */

import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { aureportAvc, aureportAvcRows, ausearchAvc } from './peers.js';
import { formatRow, systemLine } from './system-line.js';
import { largeLog } from './workloads.js';

const megabytes = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 3);
const file = await largeLog(megabytes);
const size = statSync(file).size;

interface OurRun {
  ms: number;
  lines: number;
  records: number;
  events: number;
  denials: number;
  peakRss: number;
}

function ours(): OurRun {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'parse-run.js'), file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as OurRun;
}

const mine: OurRun[] = [];
const theirs: number[] = [];
const reports: number[] = [];
let skipped: string | undefined;
for (let i = 0; i < runs; i++) {
  mine.push(ours());
  const peer = ausearchAvc(file);
  if (peer.ms === null) skipped = peer.skipped;
  else theirs.push(peer.ms);
  const report = aureportAvc(file);
  if (report.ms !== null) reports.push(report.ms);
}
const best = (xs: number[]) => Math.min(...xs);
const ourMs = best(mine.map((m) => m.ms));
const mbps = (ms: number) => size / 1e6 / (ms / 1000);
const last = mine[mine.length - 1] as OurRun;
const widths = [34, 10, 12, 14, 10];
console.log(
  `file: ${file} (${(size / 1e6).toFixed(0)} MB, ${last.lines} lines, ${last.events} events, ${last.denials} denials)`,
);
console.log(formatRow(['workload', 'MB/s', 'lines/s', 'peak RSS MB', 'ratio'], widths));
const ausearchMbps = theirs.length ? mbps(best(theirs)) : null;
console.log(
  formatRow(
    [
      'svirt-audit parse+assemble+denials',
      mbps(ourMs).toFixed(0),
      (last.lines / (ourMs / 1000)).toFixed(0),
      (last.peakRss / 2 ** 20).toFixed(0),
      ausearchMbps ? (mbps(ourMs) / ausearchMbps).toFixed(2) : '-',
    ],
    widths,
  ),
);
if (ausearchMbps) console.log(formatRow(['ausearch -m AVC --raw', ausearchMbps.toFixed(0), '-', '-', '1.00'], widths));
else console.log(`ausearch: skipped: ${skipped}`);
if (reports.length) {
  const reportMbps = mbps(best(reports));
  console.log(formatRow(['aureport --avc', reportMbps.toFixed(0), '-', '-', '-'], widths));
  console.log(
    `same job as aureport --avc (${aureportAvcRows(file)} report rows; our denials ${last.denials}): ` +
      `ours / aureport = ${(mbps(ourMs) / reportMbps).toFixed(2)}`,
  );
}
console.log(`best of ${runs} runs each, interleaved, each in a fresh process; target ratio >= 0.50`);
console.log(systemLine());
