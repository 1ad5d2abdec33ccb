/**
 * The store as a sink of the audit stream: events and unparsed lines are buffered and
 * written in batches, each batch in one transaction together with the source's
 * checkpoint, so what is stored and where reading resumes never disagree.
 */

import type { AuditEvent } from './assemble.js';
import type { UnparsedLine } from './audit-record.js';
import type { AuditStreamSink } from './audit-stream.js';
import type { EventFindings } from './denial.js';
import { type LearnCounts, learnAllocations } from './learn-allocations.js';
import { addLateRecords, insertEvent, insertMacStatus, insertUnparsed, setCheckpoint } from '../store/audit-trail.js';
import { packRawBlock, releaseRawBlocks } from '../store/raw-blocks.js';
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
  #events: { event: AuditEvent; findings: EventFindings }[] = [];
  #unparsed: UnparsedLine[] = [];
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
    return this.#events.length + this.#unparsed.length;
  }

  event(event: AuditEvent, findings: EventFindings): void {
    this.#events.push({ event, findings });
  }

  unparsed(item: UnparsedLine): void {
    this.#unparsed.push(item);
  }

  /**
   * Write what is pending and, if given, move the checkpoint to `checkpoint`, all in one
   * transaction. Throws what the store throws (DB_BUSY, disk full): nothing is then
   * written, the batch stays pending and the checkpoint stays where it was.
   */
  flush(checkpoint: number | null): void {
    if (this.pending === 0 && (checkpoint === null || this.#sourceId === null)) return;
    const events = this.#events;
    const unparsed = this.#unparsed;
    const stored: StoredEvent[] = [];
    const counts = { ...this.counts };
    this.#store.transaction(() => {
      // Read in the batch's transaction: a prune in another process moves it.
      const horizons = loadHorizons(this.#store);
      const texts = events.map(({ event }) => event.records.map((r) => r.raw).join('\n'));
      const packed = events.length > 0 ? packRawBlock(this.#store, texts) : undefined;
      let inBlock = 0;
      for (const [i, { event, findings }] of events.entries()) {
        const host = event.node ?? this.#localHost;
        if (horizons.size > 0 && event.time < (horizons.get(host) ?? -1)) {
          counts.belowHorizon++;
          continue;
        }
        const first = event.records[0];
        const row = {
          host,
          time: event.time,
          serial: event.serial,
          types: event.records.map((r) => r.type),
          raw: event.records.map((r) => r.raw),
          sourceId: this.#sourceId,
          sourceOffset: first && first.offset >= 0 ? first.offset : null,
        };
        let eventId = insertEvent(
          this.#store,
          row,
          findings.denials,
          packed && { block: packed.block, at: packed.at[i] as number, length: (texts[i] as string).length },
        );
        if (eventId !== null) inBlock++;
        if (eventId === null) {
          // Its key is stored: a re-read (every line stored already: nothing new), or records
          // that came after their event was complete and stored. Asked of the store for
          // every such key, not only for keys the assembler still remembers (its ring of
          // recent keys): a late part after 4,096 other events is still added. A re-read
          // is at most a batch or two after a restart, so the lookup costs little.
          const lines = findings.denialRecords.map((r) => r.raw);
          const late = addLateRecords(this.#store, row, findings.denials, lines);
          if (late === null) {
            counts.alreadyStored++;
            continue;
          }
          eventId = late.eventId;
          counts.lateRecordsAdded += late.recordsAdded;
          counts.denials += late.denialsStored;
        } else {
          counts.stored++;
          counts.denials += findings.denials.length;
        }
        for (const fact of findings.facts) {
          if (fact.kind === 'mac-status') insertMacStatus(this.#store, host, event.time, fact.enforcing, eventId);
        }
        learnAllocations(this.#store, host, event.time, findings.facts, counts);
        stored.push({ eventId, event, findings });
      }
      if (packed && inBlock < texts.length)
        releaseRawBlocks(this.#store, new Map([[packed.block, texts.length - inBlock]]));
      for (const u of unparsed) {
        insertUnparsed(this.#store, this.#sourceId, u.offset >= 0 ? u.offset : null, u.reason, u.detail, u.line);
        counts.unparsed++;
      }
      if (checkpoint !== null && this.#sourceId !== null) setCheckpoint(this.#store, this.#sourceId, checkpoint);
    });
    // Only after the commit: a failed transaction leaves the batch pending and counts unchanged.
    this.#events = [];
    this.#unparsed = [];
    Object.assign(this.counts, counts, { batches: counts.batches + 1 });
    if (stored.length > 0) this.onStored?.(stored);
  }
}
