/**
 * One range of a file for collector/parallel-parse.ts: parse, assemble and extract it,
 * holding back the events that may continue across either cut, and post the counts and
 * the held lines' offsets (transferred, not copied).
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditEvent } from './assemble.js';
import { AuditStream } from './audit-stream.js';
import { denialEventKey, type RangeResult, type RangeTask } from './parallel-parse.js';

const task = workerData as RangeTask;
const headEnd = task.start + task.headZone;
let ending = false;
let denials = 0;
let heldEvents = 0;
let heldRecords = 0;
const held = new Set<number>();
const keys: string[] = [];

const stream = new AuditStream(
  {
    event: (event, findings) => {
      if (findings.denials.length === 0) return;
      denials += findings.denials.length;
      if (task.keys) keys.push(denialEventKey(event, findings.denials));
    },
    unparsed: () => undefined,
    held: (event: AuditEvent) => {
      heldEvents++;
      heldRecords += event.records.length;
      for (const r of event.records) held.add(r.offset);
    },
  },
  {
    startOffset: task.start,
    // The first range has nothing before it; every range but the last has something after.
    holdBack: (event) => ending || (task.start > 0 && event.records.some((r) => r.offset < headEnd)),
  },
);

const fd = openSync(task.file, 'r');
const buf = Buffer.allocUnsafe(1 << 20);
for (let at = task.start; at < task.end;) {
  const n = readSync(fd, buf, 0, Math.min(buf.length, task.end - at), at);
  if (n === 0) break;
  stream.push(buf.subarray(0, n));
  at += n;
}
closeSync(fd);
// What is still open now may go on in the next range (the last range has none).
ending = !task.last;
stream.end();

const offsets = Float64Array.from([...held].sort((a, b) => a - b));
const c = stream.counters;
const result: RangeResult = {
  lines: c.lines - offsets.length,
  records: c.records - heldRecords,
  events: c.events - heldEvents,
  denials,
  separators: c.separators,
  held: offsets,
  ...(task.keys && { keys }),
};
parentPort?.postMessage(result, [offsets.buffer]);
