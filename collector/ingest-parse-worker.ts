/**
 * The parse thread of ingest (collector/backfill.ts): reads one open file from its
 * checkpoint, parses, assembles and extracts it, and posts packed batches
 * (collector/event-batch.ts) with the offset each one's commit may move the checkpoint
 * to. The writer thread acknowledges each batch once committed; at most MAX_IN_FLIGHT
 * wait, so a slow store holds the parser back instead of growing its memory.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { AuditStream, type AuditStreamCounters } from './audit-stream.js';
import { type EventBatch, EventBatchPacker, transferablesOf } from './event-batch.js';
import { readFileChunks } from './file-chunks.js';

export interface ParseTask {
  /** An fd the writer opened (threads share fds: the file read is the one it identified). */
  fd: number;
  startOffset: number;
  gzip: boolean;
  batchEvents: number;
  /** The file may still be written: a last line without its newline is not read. */
  holdPartialLine: boolean;
}

export interface ParsedBatch {
  batch: EventBatch;
  /** Where reading may resume once this batch is committed. */
  checkpoint: number;
  /** Bytes read so far (uncompressed bytes after the checkpoint, for gzip). */
  bytesDone: number;
  records: number;
  /** On the last batch only. */
  end?: {
    counters: AuditStreamCounters;
    heldBackBytes: number;
    error?: string;
  };
}

const MAX_IN_FLIGHT = 2;

const task = workerData as ParseTask;
const port = parentPort as NonNullable<typeof parentPort>;
const packer = new EventBatchPacker();
const stream = new AuditStream(packer, { startOffset: task.startOffset });
let bytesDone = 0;
let inFlight = 0;
let acknowledged: (() => void) | undefined;
const onAck = () => {
  inFlight--;
  acknowledged?.();
};
port.on('message', onAck);

function post(checkpoint: number, end?: ParsedBatch['end']): void {
  const batch = packer.finish();
  const message: ParsedBatch = { batch, checkpoint, bytesDone, records: stream.counters.records, ...(end && { end }) };
  port.postMessage(message, transferablesOf(batch));
  inFlight++;
}

async function push(chunk: Buffer): Promise<void> {
  stream.push(chunk);
  bytesDone += chunk.length;
  if (packer.pending < task.batchEvents) return;
  post(stream.checkpointOffset);
  while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => (acknowledged = resolve));
}

const { error } = await readFileChunks(task, push);
const heldBackBytes = task.holdPartialLine ? stream.partialLineBytes : 0;
stream.end({ holdPartialLine: task.holdPartialLine });
post(stream.completeOffset, {
  counters: stream.counters,
  heldBackBytes,
  ...(error !== undefined && { error }),
});
// Nothing more to wait for: the thread ends once the last batch is posted.
port.off('message', onAck);
