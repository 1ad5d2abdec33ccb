/**
 * bench/parse: parse + event assembly + denial extraction over a 200 MB log built from the
 * corpus, against `aureport --avc` on the same file in the same run: the reference tool's
 * own denial extraction, which does our job (test/collector/aureport-differential.test.ts
 * shows its rows are our SELinux denials). Ours on this thread, and on 1 and 2 worker
 * threads over byte ranges (collector/parallel-parse.ts). `ausearch -m AVC --raw`, which
 * reads no field, is a second column. Peak RSS over the 200 MB log is compared with the
 * same run over a 50 MB log (flat memory).
 *
 * Targets: ours / aureport >= 1.0; peak RSS at 200 MB <= 1.2x that at 50 MB.
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
const small = await largeLog(Math.max(1, Math.round(megabytes / 4)));
const size = statSync(file).size;

interface OurRun {
  ms: number;
  lines: number;
  records: number;
  events: number;
  denials: number;
  peakRss: number;
}

/** One run in a fresh process; threads 0 = on the main thread. */
function ours(path: string, threads: number): OurRun {
  const args = [join(import.meta.dirname, 'parse-run.js'), path, ...(threads > 0 ? [String(threads)] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as OurRun;
}

const variants = [
  { title: 'svirt-audit, main thread', threads: 0 },
  { title: 'svirt-audit, 1 worker thread', threads: 1 },
  { title: 'svirt-audit, 2 worker threads', threads: 2 },
];
const mine = variants.map(() => [] as OurRun[]);
const reports: number[] = [];
const searches: number[] = [];
let skipped: string | undefined;
for (let i = 0; i < runs; i++) {
  variants.forEach((v, k) => mine[k]?.push(ours(file, v.threads)));
  const report = aureportAvc(file);
  if (report.ms === null) skipped = report.skipped;
  else reports.push(report.ms);
  const search = ausearchAvc(file);
  if (search.ms !== null) searches.push(search.ms);
}
const best = (xs: number[]) => Math.min(...xs);
const mbps = (ms: number) => size / 1e6 / (ms / 1000);
const reportMbps = reports.length ? mbps(best(reports)) : null;
const searchMbps = searches.length ? mbps(best(searches)) : null;
const last = mine[0]?.[0] as OurRun;
console.log(
  `file: ${file} (${(size / 1e6).toFixed(0)} MB, ${last.lines} lines, ${last.events} events, ${last.denials} denials)`,
);
const widths = [32, 8, 12, 13, 16, 14];
console.log(formatRow(['workload', 'MB/s', 'lines/s', 'peak RSS MB', '÷ aureport --avc', '÷ ausearch --raw'], widths));
variants.forEach((v, k) => {
  const rs = mine[k] as OurRun[];
  const ms = best(rs.map((r) => r.ms));
  console.log(
    formatRow(
      [
        v.title,
        mbps(ms).toFixed(0),
        (last.lines / (ms / 1000)).toFixed(0),
        (Math.max(...rs.map((r) => r.peakRss)) / 2 ** 20).toFixed(0),
        reportMbps ? (mbps(ms) / reportMbps).toFixed(2) : '-',
        searchMbps ? (mbps(ms) / searchMbps).toFixed(2) : '-',
      ],
      widths,
    ),
  );
});
if (reportMbps) console.log(formatRow(['aureport --avc', reportMbps.toFixed(0), '-', '-', '1.00', '-'], widths));
else console.log(`aureport: skipped: ${skipped}`);
if (searchMbps) console.log(formatRow(['ausearch -m AVC --raw', searchMbps.toFixed(0), '-', '-', '-', '1.00'], widths));
if (reportMbps) console.log(`same job: ${aureportAvcRows(file)} aureport rows; our denials ${last.denials}`);
// Flat memory: the main-thread parse of a quarter of the log, beside the whole one.
const smallRss = Math.max(...[0, 1].map(() => ours(small, 0).peakRss));
const bigRss = Math.max(...(mine[0] as OurRun[]).map((r) => r.peakRss));
console.log(
  `peak RSS, main thread: ${(smallRss / 2 ** 20).toFixed(0)} MB over ${(statSync(small).size / 1e6).toFixed(0)} MB, ${(bigRss / 2 ** 20).toFixed(0)} MB over ${(size / 1e6).toFixed(0)} MB: ratio ${(bigRss / smallRss).toFixed(2)}`,
);
console.log(
  `best of ${runs} runs each, interleaved, each in a fresh process; targets: ÷ aureport >= 1.00, RSS ratio <= 1.20`,
);
console.log(systemLine());
