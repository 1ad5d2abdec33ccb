/**
 * Backfill: old audit logs into the store. A rotated series given in any order is read
 * oldest first (audit.log.4 … audit.log.1, audit.log); gzip'ed files are read through
 * gunzip; `-` is stdin. Each file resumes from its checkpoint, so ingesting a file again
 * stores nothing new and an interrupted run picks up where it stopped.
 */

import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { findOrCreateSource, sourcesByInode, type SourceRow } from '../store/audit-trail.js';
import type { Store } from '../store/store.js';
import { WalCheckpointer } from '../store/wal-checkpointer.js';
import { AuditStream, type AuditStreamCounters } from './audit-stream.js';
import { readFileChunks } from './file-chunks.js';
import { headHashOfFd, identityOfFd } from './file-identity.js';
import type { ParsedBatch, ParseTask } from './ingest-parse-worker.js';
import { type StoredEvent, StoreWriter, type WriterCounts } from './store-writer.js';

export interface IngestProgress {
  file: string;
  bytesDone: number;
  bytesTotal: number;
  records: number;
}

export interface IngestOptions {
  localHost: string;
  /** Events per transaction (default 2000). */
  batchEvents?: number;
  onProgress?: (p: IngestProgress) => void;
  /** Called after each committed batch with the events it stored. */
  onStored?: (events: StoredEvent[]) => void;
  stdin?: NodeJS.ReadableStream;
  /**
   * Read a last line without its newline as it is, in every file. By default it is held
   * back in a file that may still be written (see mayStillBeWritten) and read whole next time.
   */
  filesAreFinished?: boolean;
  /**
   * Where files are parsed: on a worker thread beside this one, which writes ('worker');
   * on this thread ('inline'); or 'auto' (default): on a worker for files of 4 MiB and
   * more, unless onStored wants the parsed events. Stdin and gzip files are always
   * parsed inline: a gzip file cut short must hand over everything gunzip decoded before
   * the cut, and a reader that waits for the writer inside the gunzip pipeline loses
   * what gunzip had buffered when the error came.
   */
  parseThread?: 'auto' | 'worker' | 'inline';
}

/**
 * A file auditd may be writing now: plain (not gzip) and not a rotated `NAME.N`. Its last
 * line without a newline is a record cut in the middle of being written, not a record.
 */
export function mayStillBeWritten(path: string, gzip: boolean): boolean {
  return !gzip && !/\.\d+$/.test(path);
}

export interface IngestSummary {
  files: number;
  bytes: number;
  lines: number;
  records: number;
  events: number;
  denialsFound: number;
  unparsed: number;
  writer: WriterCounts;
  /**
   * Per file: where reading started (the checkpoint) and ended; `error` when the file
   * could not be read to its end (a gzip file cut short or corrupt): what came before
   * that point is stored, and the other files are read all the same.
   */
  perFile: { path: string; startOffset: number; endOffset: number; heldBackBytes?: number; error?: string }[];
}

/** How often reading on this thread lets timers and signals through. */
const YIELD_EVERY_BYTES = 16 << 20;

/**
 * Order a rotated series oldest first: for the same base name, `.N` (and `.N.gz`) sorts
 * before `.N-1`, and the base file comes last. Other names keep the order given.
 */
export function rotationOrder(paths: readonly string[]): string[] {
  const rank = (p: string): { base: string; n: number } => {
    const m = /^(.*?)(?:\.(\d+))?(?:\.gz)?$/.exec(p) as RegExpExecArray;
    return { base: m[1] as string, n: m[2] === undefined ? 0 : Number(m[2]) };
  };
  return paths
    .map((p, i) => ({ p, i, ...rank(p) }))
    .sort((a, b) => (a.base === b.base ? b.n - a.n : a.i - b.i))
    .map((x) => x.p);
}

/** The stored source for this open file if its identity matches one, else a new source at 0. */
export function resolveSource(store: Store, fd: number, path: string): SourceRow {
  return knownSource(store, fd) ?? findOrCreateSource(store, identityOfFd(fd, path));
}

/** The stored source this open file is (same device, inode and first bytes), if any. */
export function knownSource(store: Store, fd: number): SourceRow | undefined {
  const st = fstatSync(fd);
  return sourcesByInode(store, Number(st.dev), Number(st.ino)).find(
    (known) =>
      st.size >= known.headBytes && st.size >= known.offset && headHashOfFd(fd, known.headBytes) === known.headHash,
  );
}

/** Ingest files (in rotation order) into the store. Throws only for I/O and database errors. */
export async function ingestFiles(
  store: Store,
  paths: readonly string[],
  options: IngestOptions,
): Promise<IngestSummary> {
  const writer = new StoreWriter(store, { localHost: options.localHost, sourceId: null });
  writer.onStored = options.onStored;
  const summary: IngestSummary = {
    files: 0,
    bytes: 0,
    lines: 0,
    records: 0,
    events: 0,
    denialsFound: 0,
    unparsed: 0,
    writer: writer.counts,
    perFile: [],
  };
  // Checkpoints on the other core while this thread parses and writes (store/wal-checkpointer.ts).
  const checkpointer = WalCheckpointer.start(store);
  try {
    for (const path of rotationOrder(paths)) {
      summary.files++;
      if (path === '-') await ingestStdin(writer, options, summary);
      else await ingestFile(store, writer, path, options, summary);
    }
  } finally {
    await checkpointer.stop();
  }
  return summary;
}

async function ingestFile(
  store: Store,
  writer: StoreWriter,
  path: string,
  options: IngestOptions,
  summary: IngestSummary,
): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const source = store.transaction(() => resolveSource(store, fd, path));
    writer.setSource(source.id);
    const head = Buffer.alloc(2);
    readSync(fd, head, 0, 2, 0);
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const file: OpenFile = {
      path,
      fd,
      startOffset: source.offset,
      gzip,
      bytesTotal: gzip ? size : size - source.offset,
      holdPartialLine: !options.filesAreFinished && mayStillBeWritten(path, gzip),
      batchEvents: options.batchEvents ?? 2000,
    };
    const read =
      !gzip && parseOnWorker(options, file.bytesTotal)
        ? await readOnWorker(writer, file, options)
        : await readInline(writer, file, options);
    addCounters(summary, read.counters, read.bytes);
    summary.perFile.push({
      path,
      startOffset: source.offset,
      endOffset: read.completeOffset,
      ...(read.heldBackBytes > 0 && { heldBackBytes: read.heldBackBytes }),
      ...(read.error !== undefined && { error: read.error }),
    });
  } finally {
    closeSync(fd);
  }
}

interface OpenFile {
  path: string;
  fd: number;
  startOffset: number;
  gzip: boolean;
  bytesTotal: number;
  holdPartialLine: boolean;
  batchEvents: number;
}

interface FileRead {
  bytes: number;
  counters: AuditStreamCounters;
  completeOffset: number;
  heldBackBytes: number;
  error?: string;
}

const PARSE_WORKER = new URL('./ingest-parse-worker.js', import.meta.url);
/** Below this, starting a thread costs more than it saves. */
const WORKER_MIN_BYTES = 4 << 20;

function parseOnWorker(options: IngestOptions, bytes: number): boolean {
  const wanted = options.parseThread ?? 'auto';
  if (wanted === 'inline') return false;
  // The thread is a compiled module: run from the TypeScript sources (the test runner), there is none.
  const available = existsSync(fileURLToPath(PARSE_WORKER));
  if (wanted === 'worker') {
    if (!available) throw new Error(`the parse worker ${fileURLToPath(PARSE_WORKER)} is not built (npm run build)`);
    if (options.onStored) throw new Error('parsing on a worker hands no parsed events to onStored');
    return true;
  }
  return available && !options.onStored && bytes >= WORKER_MIN_BYTES;
}

/**
 * Parse on a worker thread while this one writes: the worker posts packed batches
 * (collector/event-batch.ts), each written here with its checkpoint in one transaction,
 * as readInline writes its own.
 */
function readOnWorker(writer: StoreWriter, file: OpenFile, options: IngestOptions): Promise<FileRead> {
  const task: ParseTask = {
    fd: file.fd,
    startOffset: file.startOffset,
    gzip: file.gzip,
    batchEvents: file.batchEvents,
    holdPartialLine: file.holdPartialLine,
  };
  return new Promise((resolve, reject) => {
    const worker = new Worker(PARSE_WORKER, { workerData: task });
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      // Stopped before the caller closes the fd the thread reads (its number may be reused).
      void worker.terminate().finally(() => reject(e instanceof Error ? e : new Error(String(e))));
    };
    worker.on('message', (m: ParsedBatch) => {
      if (settled) return;
      try {
        writer.writeBatch(m.batch, m.checkpoint);
      } catch (e) {
        fail(e);
        return;
      }
      worker.postMessage('committed');
      options.onProgress?.({
        file: file.path,
        bytesDone: m.bytesDone,
        bytesTotal: file.bytesTotal,
        records: m.records,
      });
      if (m.end) {
        settled = true;
        resolve({
          bytes: m.bytesDone,
          counters: m.end.counters,
          // The last batch's checkpoint is where complete lines end.
          completeOffset: m.checkpoint,
          heldBackBytes: m.end.heldBackBytes,
          ...(m.end.error !== undefined && { error: m.end.error }),
        });
      }
    });
    worker.on('error', fail);
    worker.on('exit', (code) =>
      fail(new Error(`the parse worker stopped (exit code ${code}) before the end of ${file.path}`)),
    );
  });
}

/** Parse and write on this thread. */
async function readInline(writer: StoreWriter, file: OpenFile, options: IngestOptions): Promise<FileRead> {
  const stream = new AuditStream(writer, { startOffset: file.startOffset });
  let done = 0;
  const { error } = await readFileChunks(file, async (chunk) => {
    stream.push(chunk);
    done += chunk.length;
    if (writer.pending >= file.batchEvents) writer.flush(stream.checkpointOffset);
    options.onProgress?.({
      file: file.path,
      bytesDone: done,
      bytesTotal: file.bytesTotal,
      records: stream.counters.records,
    });
    // Let the progress bar and signals through on large files.
    if (done % YIELD_EVERY_BYTES < chunk.length) await new Promise((r) => setImmediate(r));
  });
  const heldBackBytes = file.holdPartialLine ? stream.partialLineBytes : 0;
  stream.end({ holdPartialLine: file.holdPartialLine });
  writer.flush(stream.completeOffset);
  return {
    bytes: done,
    counters: stream.counters,
    completeOffset: stream.completeOffset,
    heldBackBytes,
    ...(error !== undefined && { error }),
  };
}

async function ingestStdin(writer: StoreWriter, options: IngestOptions, summary: IngestSummary): Promise<void> {
  writer.setSource(null);
  const stream = new AuditStream(writer);
  let done = 0;
  for await (const chunk of options.stdin ?? process.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    stream.push(buf);
    done += buf.length;
    if (writer.pending >= (options.batchEvents ?? 2000)) writer.flush(null);
  }
  stream.end();
  writer.flush(null);
  addCounters(summary, stream.counters, done);
  summary.perFile.push({ path: '-', startOffset: 0, endOffset: done });
}

function addCounters(summary: IngestSummary, c: AuditStreamCounters, bytes: number): void {
  summary.bytes += bytes;
  summary.lines += c.lines;
  summary.records += c.records;
  summary.events += c.emitted;
  summary.denialsFound += c.denials;
  summary.unparsed += c.unparsed;
}

/** A short name for progress lines. */
export function displayName(path: string): string {
  return path === '-' ? 'stdin' : basename(path);
}
