/**
 * Backfill: old audit logs into the store. A rotated series given in any order is read
 * oldest first (audit.log.4 … audit.log.1, audit.log); gzip'ed files are read through
 * gunzip; `-` is stdin. Each file resumes from its checkpoint, so ingesting a file again
 * stores nothing new and an interrupted run picks up where it stopped.
 */

import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { findOrCreateSource, sourcesByInode, type SourceRow } from '../store/audit-trail.js';
import type { Store } from '../store/store.js';
import { WalCheckpointer } from '../store/wal-checkpointer.js';
import { AuditStream } from './audit-stream.js';
import { headHashOfFd, identityOfFd } from './file-identity.js';
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

const CHUNK = 1 << 20;

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
    const stream = new AuditStream(writer, { startOffset: source.offset });
    const batch = options.batchEvents ?? 2000;
    let done = 0;
    const push = (chunk: Buffer) => {
      stream.push(chunk);
      done += chunk.length;
      if (writer.pending >= batch) writer.flush(stream.checkpointOffset);
      options.onProgress?.({
        file: path,
        bytesDone: done,
        bytesTotal: gzip ? size : size - source.offset,
        records: stream.counters.records,
      });
    };
    let error: string | undefined;
    if (gzip) {
      // The checkpoint counts uncompressed bytes: skip what was stored before.
      let skip = source.offset;
      try {
        // pipeline, not pipe: a corrupt file must stop both streams before the fd closes.
        await pipeline(createReadStream('', { fd, autoClose: false, start: 0 }), createGunzip(), async (pieces) => {
          for await (const piece of pieces) {
            let buf = piece as Buffer;
            if (skip > 0) {
              const cut = Math.min(skip, buf.length);
              buf = buf.subarray(cut);
              skip -= cut;
              if (buf.length === 0) continue;
            }
            push(buf);
          }
        });
      } catch (e) {
        error = `the gzip data is cut short or corrupt after ${source.offset + done} uncompressed bytes (${(e as Error).message}); the records before that point are stored`;
      }
    } else {
      const buf = Buffer.allocUnsafe(CHUNK);
      let position = source.offset;
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, position);
        if (n === 0) break;
        position += n;
        // No copy: the stream keeps nothing of a chunk it was given (it copies a partial line).
        push(buf.subarray(0, n));
        // Let the progress bar and signals through on large files.
        if (position % (16 * CHUNK) < CHUNK) await new Promise((r) => setImmediate(r));
      }
    }
    const hold = !options.filesAreFinished && mayStillBeWritten(path, gzip);
    const heldBackBytes = hold ? stream.partialLineBytes : 0;
    stream.end({ holdPartialLine: hold });
    writer.flush(stream.completeOffset);
    addCounters(summary, stream, done);
    summary.perFile.push({
      path,
      startOffset: source.offset,
      endOffset: stream.completeOffset,
      ...(heldBackBytes > 0 && { heldBackBytes }),
      ...(error !== undefined && { error }),
    });
  } finally {
    closeSync(fd);
  }
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
  addCounters(summary, stream, done);
  summary.perFile.push({ path: '-', startOffset: 0, endOffset: done });
}

function addCounters(summary: IngestSummary, stream: AuditStream, bytes: number): void {
  const c = stream.counters;
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
