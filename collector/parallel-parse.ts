/**
 * Parsing one file on several threads: the file is cut into byte ranges at line starts,
 * each range is parsed, assembled and extracted by a worker (collector/parse-range-worker.ts),
 * and the events that may straddle a cut are put together here.
 *
 * The kernel writes an event's records close together, so an event can span a cut only
 * near it: a worker holds back every event with a record in the first HEAD_ZONE bytes of
 * its range and every event still open at the end of it, and sends back where their
 * records are (offsets, in a transferable array, not the events themselves). This thread
 * reads those lines again and assembles them in file order, so an event cut in two is
 * whole again. Denials, events and records are each counted once.
 *
 * ausearch output (`----` between events) is assembled by its separators, from the first
 * one on, which a range cannot know of: such a file is parsed as one range.
 */

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { AuditStream } from './audit-stream.js';

/** How far from a cut an event's records may lie; far beyond what the kernel writes. */
export const HEAD_ZONE = 1 << 20;

export interface RangeTask {
  file: string;
  start: number;
  end: number;
  headZone: number;
  /** The range that ends the file: events open at its end are complete as they are. */
  last: boolean;
  keys: boolean;
}

export interface RangeResult {
  lines: number;
  records: number;
  events: number;
  denials: number;
  /** ausearch `----` separators seen. */
  separators: number;
  /** Offsets of the lines of the events held back (sorted, unique). */
  held: Float64Array;
  /** With `keys`: one string per denial event, to compare with a sequential parse. */
  keys?: string[];
}

export interface ParallelParseResult {
  lines: number;
  records: number;
  events: number;
  denials: number;
  keys?: string[];
}

/** The string a denial event is compared by (parallel against sequential). */
export function denialEventKey(
  event: { node: string | null; time: number; serial: number },
  denials: unknown[],
): string {
  return `${event.node ?? ''}|${event.time}|${event.serial}|${JSON.stringify(denials)}`;
}

/** Line starts to cut `fd` at, about `parts` equal ranges apart. */
function cuts(fd: number, size: number, parts: number): number[] {
  const out = [0];
  const probe = Buffer.allocUnsafe(64 * 1024);
  for (let i = 1; i < parts; i++) {
    let at = Math.floor((size * i) / parts);
    for (;;) {
      const n = readSync(fd, probe, 0, probe.length, at);
      if (n === 0) {
        at = size;
        break;
      }
      const nl = probe.subarray(0, n).indexOf(0x0a);
      if (nl !== -1) {
        at += nl + 1;
        break;
      }
      at += n;
    }
    if (at > (out[out.length - 1] as number) && at < size) out.push(at);
  }
  out.push(size);
  return out;
}

/** The line that starts at `offset` (without its newline). */
function lineAt(fd: number, offset: number, buf: Buffer): string {
  let text = '';
  let at = offset;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, at);
    if (n === 0) return text;
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl !== -1) return text + buf.toString('utf8', 0, nl);
    text += buf.toString('utf8', 0, n);
    at += n;
  }
}

function runRange(task: RangeTask): Promise<RangeResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./parse-range-worker.js', import.meta.url), { workerData: task });
    worker.once('message', (result: RangeResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

/** Parse, assemble and extract `file` on `threads` workers (1: one worker, for comparison). */
export async function parseFileInParallel(
  file: string,
  options: { threads: number; rangeBytes?: number; headZone?: number; keys?: boolean },
): Promise<ParallelParseResult> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const parts = options.rangeBytes ? Math.max(1, Math.ceil(size / options.rangeBytes)) : options.threads;
    const at = cuts(fd, size, parts);
    const tasks: RangeTask[] = [];
    for (let i = 0; i + 1 < at.length; i++)
      tasks.push({
        file,
        start: at[i] as number,
        end: at[i + 1] as number,
        headZone: options.headZone ?? HEAD_ZONE,
        last: i + 2 === at.length,
        keys: options.keys ?? false,
      });
    // At most `threads` workers at once, ranges taken in order.
    const results: RangeResult[] = new Array(tasks.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(options.threads, tasks.length) }, async () => {
        for (let i = next++; i < tasks.length; i = next++) results[i] = await runRange(tasks[i] as RangeTask);
      }),
    );
    if (tasks.length > 1 && results.some((r) => r.separators > 0))
      return parseFileInParallel(file, { ...options, threads: 1, rangeBytes: size + 1 });

    const total: ParallelParseResult = { lines: 0, records: 0, events: 0, denials: 0 };
    const keys: string[] = [];
    for (const r of results) {
      total.lines += r.lines;
      total.records += r.records;
      total.events += r.events;
      total.denials += r.denials;
      if (r.keys) keys.push(...r.keys);
    }
    // The held events, whole again: their lines in file order through one stream.
    const stream = new AuditStream({
      event: (event, findings) => {
        if (findings.denials.length === 0) return;
        total.denials += findings.denials.length;
        if (options.keys) keys.push(denialEventKey(event, findings.denials));
      },
      unparsed: () => undefined,
    });
    const buf = Buffer.allocUnsafe(16 * 1024);
    for (const r of results) for (const offset of r.held) stream.pushLine(lineAt(fd, offset, buf), offset);
    stream.end();
    const c = stream.counters;
    total.lines += c.lines;
    total.records += c.records;
    total.events += c.events;
    return options.keys ? { ...total, keys } : total;
  } finally {
    closeSync(fd);
  }
}
