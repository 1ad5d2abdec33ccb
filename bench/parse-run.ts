/**
 * One timed run of our parser over a file, in a process of its own (bench/parse.ts starts
 * it): parse every record header, assemble events, parse bodies of the events that may
 * hold denials, extract denials and facts. With a thread count, on that many worker
 * threads over byte ranges (collector/parallel-parse.ts); without, on this thread, read in
 * 1 MiB chunks. Prints one JSON line.
 *
 * Run: node dist/bench/parse-run.js FILE [threads]
 */

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { AuditStream } from '../collector/audit-stream.js';
import { parseFileInParallel } from '../collector/parallel-parse.js';

const file = process.argv[2] as string;
const threads = process.argv[3] === undefined ? 0 : Number(process.argv[3]);
const size = statSync(file).size;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const start = process.hrtime.bigint();
let counts: { lines: number; records: number; events: number; denials: number };
if (threads > 0) {
  counts = await parseFileInParallel(file, { threads });
} else {
  let denials = 0;
  const stream = new AuditStream({ event: (_e, f) => (denials += f.denials.length), unparsed: () => undefined });
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  let n: number;
  let chunks = 0;
  while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) {
    stream.push(buf.subarray(0, n));
    if (++chunks % 16 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  stream.end();
  closeSync(fd);
  const c = stream.counters;
  counts = { lines: c.lines, records: c.records, events: c.events, denials };
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(JSON.stringify({ ms, bytes: size, threads, ...counts, peakRss }));
