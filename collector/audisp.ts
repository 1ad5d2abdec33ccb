/**
 * The auditd dispatcher plugin source: auditd (audisp) writes each record as one line to
 * our stdin (`format = string` in the plugin's conf). Batches are committed by size and
 * age; at end of input everything is flushed. There is no file, so no checkpoint: auditd
 * itself keeps the log, and events are unique in the store, so a restart that overlaps a
 * backfill stores nothing twice.
 */

import type { Store } from '../store/store.js';
import { AuditStream } from './audit-stream.js';
import { StoreWriter, type StoredEvent } from './store-writer.js';

export interface AudispOptions {
  localHost: string;
  batchEvents?: number;
  batchMaxAgeMs?: number;
  idleFlushMs?: number;
  onStored?: (events: StoredEvent[]) => void;
  onWarning?: (message: string) => void;
}

/** Read the dispatcher's stream until EOF; resolves with the writer's counts. */
export async function runAudispSource(
  store: Store,
  input: NodeJS.ReadableStream,
  options: AudispOptions,
): Promise<StoreWriter['counts']> {
  const writer = new StoreWriter(store, { localHost: options.localHost, sourceId: null });
  writer.onStored = options.onStored;
  const stream = new AuditStream(writer);
  const maxAge = options.batchMaxAgeMs ?? 100;
  const idle = options.idleFlushMs ?? 1000;
  const commit = () => {
    try {
      writer.flush(null);
    } catch (error) {
      options.onWarning?.(
        `cannot write to the database (holding ${writer.pending} events): ${(error as Error).message}`,
      );
    }
  };
  // While the dispatcher is quiet, lone events still reach the store within the idle bound.
  const timer = setInterval(() => {
    stream.flushIdle(Date.now(), idle);
    if (writer.pending > 0) commit();
  }, maxAge);
  try {
    for await (const chunk of input) {
      stream.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
      if (writer.pending >= (options.batchEvents ?? 500)) commit();
    }
    stream.end();
    commit();
    if (writer.pending > 0) writer.flush(null); // last try: let a persistent error surface
  } finally {
    clearInterval(timer);
  }
  return writer.counts;
}
