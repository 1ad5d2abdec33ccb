/**
 * The store as a sink of the audit stream: events and unparsed lines are buffered and
 * written in batches, each batch in one transaction together with the source's
 * checkpoint, so what is stored and where reading resumes never disagree.
 */

import type { AuditEvent } from './assemble.js';
import type { UnparsedLine } from './audit-record.js';
import type { AuditStreamSink } from './audit-stream.js';
import type { EventFindings } from './denial.js';
import { batchEventLines, type EventBatch, EventBatchPacker, forEachBatchEvent } from './event-batch.js';
import { type LearnCounts, learnAllocations } from './learn-allocations.js';
import { addLateRecords, insertEvent, insertMacStatus, insertUnparsed, setCheckpoint } from '../store/audit-trail.js';
import { shapeIdFor } from '../store/denial-shape.js';
import { insertRawBlock, releaseRawBlocks } from '../store/raw-blocks.js';
import { loadHorizons } from '../store/retention.js';
import type { Store } from '../store/store.js';

export interface WriterCounts extends LearnCounts {
  /** Events written (new). */
  stored: number;
  /** Events already in the store (re-read after a restart, or ingested twice). */
  alreadyStored: number;
  /** Records that arrived after their event was stored, added to it. */
  lateRecordsAdded: number;
  /** Events older than their host's prune horizon: pruned once, not stored again. */
  belowHorizon: number;
  denials: number;
  unparsed: number;
  batches: number;
}

interface Parsed {
  event: AuditEvent;
  findings: EventFindings;
}

/** What a stored event looks like to listeners (the live stream, `watch`). */
export interface StoredEvent {
  eventId: number;
  event: AuditEvent;
  findings: EventFindings;
}

export class StoreWriter implements AuditStreamSink {
  readonly counts: WriterCounts = {
    stored: 0,
    alreadyStored: 0,
    lateRecordsAdded: 0,
    belowHorizon: 0,
    denials: 0,
    unparsed: 0,
    batches: 0,
    opened: 0,
    merged: 0,
    ended: 0,
    conflicts: 0,
  };
  readonly #store: Store;
  readonly #localHost: string;
  #sourceId: number | null;
  readonly #packer = new EventBatchPacker();
  /** The packer's events as parsed, kept only while someone listens (onStored). */
  #kept: Parsed[] = [];
  /** Sealed batches not committed yet (a failed commit leaves them here). */
  #batches: { batch: EventBatch; kept: Parsed[] | null }[] = [];
  /** Called after each committed batch with the events it stored (for live listeners). */
  onStored: ((events: StoredEvent[]) => void) | undefined;

  constructor(store: Store, options: { localHost: string; sourceId: number | null }) {
    this.#store = store;
    this.#localHost = options.localHost;
    this.#sourceId = options.sourceId;
  }

  /** Switch to another source (the follower moved to a new file); flush first. */
  setSource(sourceId: number | null): void {
    this.#sourceId = sourceId;
  }

  get pending(): number {
    return this.#packer.pending + this.#batches.reduce((n, b) => n + b.batch.events + b.batch.unparsed.length, 0);
  }

  event(event: AuditEvent, findings: EventFindings): void {
    this.#packer.event(event, findings);
    if (this.onStored) this.#kept.push({ event, findings });
  }

  unparsed(item: UnparsedLine): void {
    this.#packer.unparsed(item);
  }

  /**
   * Write a batch packed on another thread (ingest's parse worker) and move the
   * checkpoint, as flush does. Its events are not handed to onStored (it has no parsed
   * events to hand): ingest packs on a worker only when nobody listens.
   */
  writeBatch(batch: EventBatch, checkpoint: number | null): void {
    this.#seal();
    this.#batches.push({ batch, kept: null });
    this.flush(checkpoint);
  }

  /**
   * Write what is pending and, if given, move the checkpoint to `checkpoint`, all in one
   * transaction. Throws what the store throws (DB_BUSY, disk full): nothing is then
   * written, the batch stays pending and the checkpoint stays where it was.
   */
  flush(checkpoint: number | null): void {
    this.#seal();
    if (this.#batches.length === 0 && (checkpoint === null || this.#sourceId === null)) return;
    const stored: StoredEvent[] = [];
    const counts = { ...this.counts };
    this.#store.transaction(() => {
      // Read in the batch's transaction: a prune in another process moves it.
      const horizons = loadHorizons(this.#store);
      for (const { batch, kept } of this.#batches) this.#write(batch, kept, horizons, counts, stored);
      if (checkpoint !== null && this.#sourceId !== null) setCheckpoint(this.#store, this.#sourceId, checkpoint);
    });
    // Only after the commit: a failed transaction leaves the batches pending and counts unchanged.
    this.#batches = [];
    Object.assign(this.counts, counts, { batches: counts.batches + 1 });
    if (stored.length > 0) this.onStored?.(stored);
  }

  /** What the packer holds becomes a sealed batch. */
  #seal(): void {
    if (this.#packer.pending === 0) return;
    this.#batches.push({ batch: this.#packer.finish(), kept: this.onStored ? this.#kept : null });
    this.#kept = [];
  }

  #write(
    batch: EventBatch,
    kept: Parsed[] | null,
    horizons: ReadonlyMap<string, number>,
    counts: WriterCounts,
    stored: StoredEvent[],
  ): void {
    const store = this.#store;
    const block = batch.block ? insertRawBlock(store, batch.events, batch.block) : null;
    let inBlock = 0;
    // Each distinct shape of the batch is looked up once, when a denial first needs it.
    const shapeIds = new Array<number | undefined>(batch.shapes.length);
    const shapeId = (i: number): number =>
      (shapeIds[i] ??= shapeIdFor(store, batch.shapes[i] as string, batch.shapeTimes[i] as number));
    forEachBatchEvent(batch, (e, i) => {
      const host = e.host ?? this.#localHost;
      if (horizons.size > 0 && e.time < (horizons.get(host) ?? -1)) {
        counts.belowHorizon++;
        return;
      }
      const occurrences = e.denials.map((d) => ({
        shapeId: shapeId(d.shape),
        granted: d.granted,
        permissive: d.permissive,
        scategories: d.scategories,
        tcategories: d.tcategories,
        aaProfile: d.aaProfile,
        spid: d.spid,
        tinode: d.tinode,
      }));
      let eventId = insertEvent(
        store,
        {
          host,
          time: e.time,
          serial: e.serial,
          types: e.types,
          raw: block === null ? { text: '' } : { block, at: e.textAt, length: e.textLen },
          sourceId: this.#sourceId,
          sourceOffset: e.sourceOffset,
        },
        occurrences,
      );
      if (eventId !== null) {
        inBlock++;
        counts.stored++;
        counts.denials += occurrences.length;
      } else {
        // Its key is stored: a re-read (every line stored already: nothing new), or records
        // that came after their event was complete and stored. Asked of the store for
        // every such key, not only for keys the assembler still remembers (its ring of
        // recent keys): a late part after 4,096 other events is still added. A re-read
        // is at most a batch or two after a restart, so the lookup costs little.
        const lines = batchEventLines(batch, e);
        const late = addLateRecords(
          store,
          { host, time: e.time, serial: e.serial },
          { types: e.types.split(','), lines },
          occurrences,
          e.denials.map((d) => lines[d.record] as string),
        );
        if (late === null) {
          counts.alreadyStored++;
          return;
        }
        eventId = late.eventId;
        counts.lateRecordsAdded += late.recordsAdded;
        counts.denials += late.denialsStored;
      }
      for (const fact of e.facts) {
        if (fact.kind === 'mac-status') insertMacStatus(store, host, e.time, fact.enforcing, eventId);
      }
      learnAllocations(store, host, e.time, e.facts, counts);
      const parsed = kept?.[i];
      if (parsed) stored.push({ eventId, ...parsed });
    });
    if (block !== null && inBlock < batch.events) releaseRawBlocks(store, new Map([[block, batch.events - inBlock]]));
    for (const u of batch.unparsed) {
      insertUnparsed(store, this.#sourceId, u.offset >= 0 ? u.offset : null, u.reason, u.detail, u.line);
      counts.unparsed++;
    }
  }
}
