/**
 * One timed run of our parser over a file, in a process of its own (bench/parse.ts starts
 * it): read in 1 MiB chunks, parse every record header, assemble events, parse bodies of
 * the events that may hold denials, extract denials and facts. Prints one JSON line.
 */

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { AuditStream } from '../collector/audit-stream.js';

const file = process.argv[2] as string;
const size = statSync(file).size;
let denials = 0;
let peakRss = process.memoryUsage().rss;
const stream = new AuditStream({ event: (_e, f) => (denials += f.denials.length), unparsed: () => undefined });
const buf = Buffer.allocUnsafe(1 << 20);
const fd = openSync(file, 'r');
const start = process.hrtime.bigint();
let n: number;
let chunks = 0;
while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) {
  stream.push(buf.subarray(0, n));
  if (++chunks % 16 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
stream.end();
const ms = Number(process.hrtime.bigint() - start) / 1e6;
closeSync(fd);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
const c = stream.counters;
console.log(
  JSON.stringify({ ms, bytes: size, lines: c.lines, records: c.records, events: c.events, denials, peakRss }),
);
