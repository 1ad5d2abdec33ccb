/**
 * Event assembly: records that share (node, time, serial) are one event. Records of one
 * event may interleave with another's and arrive out of order.
 *
 * An event is emitted when it is complete, as auparse decides (audit-userspace
 * auparse/auparse.c check_events): on a record type that ends events (EOE, PROCTITLE,
 * single-record types: record-types.ts isLastRecord); when a later record's time is
 * `timeoutMs` past the event's (auparse's eoe_timeout, 2 s); on `flushIdle`/`close`.
 *
 * One deliberate difference: ausearch prints an event's records newest first, PROCTITLE
 * at the top, so auparse splits every such event in two (field_avcs.txt shows it). After
 * `separator()` (ausearch's `----`), PROCTITLE no longer ends an event; the separator does.
 * Memory is bounded by `maxInFlight`: past it, the oldest event is emitted early and
 * counted as evicted. Like go-libaudit's Reassembler, what was lost is counted, not hidden.
 */

import type { AuditRecord } from './audit-record.js';
import { isLastRecord, TYPE } from './record-types.js';

export interface AuditEvent {
  readonly node: string | null;
  readonly time: number;
  readonly serial: number;
  /** In arrival order. */
  readonly records: AuditRecord[];
  /** Why it was emitted. */
  completion: 'last-record' | 'timeout' | 'evicted' | 'flush';
  /** True when records of this key arrived after an event with the same key was emitted. */
  late: boolean;
}

export interface AssemblerCounters {
  records: number;
  events: number;
  /** The same record (identical line) seen twice within one event: dropped. */
  duplicates: number;
  /** Records arriving for an event already emitted: they form a new event, flagged late. */
  late: number;
  /** Events forced out because more than maxInFlight were open. */
  evicted: number;
  /** Serial numbers skipped between consecutive new events of one node (dropped or filtered). */
  serialGaps: number;
  /** Times the serial wrapped from 2^32-1 back to a small number. */
  rollovers: number;
}

export interface AssemblerOptions {
  /** auparse's eoe_timeout: 2000 ms. */
  timeoutMs?: number;
  maxInFlight?: number;
  /** How many emitted event keys to remember for late-record detection. */
  recentKeys?: number;
}

const ROLLOVER_THRESHOLD = 2 ** 31;

interface EventKey {
  readonly serial: number;
  readonly time: number;
  readonly node: string | null;
}

export class EventAssembler {
  readonly counters: AssemblerCounters = {
    records: 0,
    events: 0,
    duplicates: 0,
    late: 0,
    evicted: 0,
    serialGaps: 0,
    rollovers: 0,
  };
  readonly #emit: (event: AuditEvent) => void;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #recentLimit: number;
  /**
   * Open events, oldest first (a Map keeps insertion order). Optimization: keyed by serial
   * alone, so a record costs one number lookup instead of building a string key; the
   * rare second event with the same serial (another node, or a reused serial) goes to
   * `#collisions` under its full key.
   */
  readonly #open = new Map<number, AuditEvent>();
  readonly #collisions = new Map<string, AuditEvent>();
  /**
   * Keys of recently emitted events by serial, for late-record detection. Bounded by a
   * ring of the last `recentKeys` events: an allocation-free eviction (a Map iterator per
   * event showed in the profile). Keys, not the events: holding 4,096 events kept their
   * records and lines alive into the old generation, and the collector paid for it in GC.
   */
  readonly #recent = new Map<number, EventKey>();
  readonly #recentRing: (EventKey | undefined)[];
  #recentNext = 0;
  readonly #lastSerial = new Map<string | null, number>();
  #newestTime = 0;
  #proctitleEnds = true;

  /** `emit` is called once per completed event, synchronously, in completion order. */
  constructor(emit: (event: AuditEvent) => void, options: AssemblerOptions = {}) {
    this.#emit = emit;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxInFlight = options.maxInFlight ?? 8192;
    this.#recentLimit = options.recentKeys ?? 4096;
    this.#recentRing = new Array<EventKey | undefined>(this.#recentLimit);
  }

  /** Add one record; may emit this event and older ones. */
  push(record: AuditRecord): void {
    this.counters.records++;
    const event = this.#openEventOf(record);
    if (event === undefined) {
      const late = this.#wasEmitted(record);
      // The kernel writes EOE after PROCTITLE, which already ended the event: nothing is late.
      if (late && record.typeNumber === TYPE.EOE) return;
      if (late) this.counters.late++;
      else this.#noteSerial(record);
      const fresh: AuditEvent = {
        node: record.node,
        time: record.time,
        serial: record.serial,
        records: [record],
        completion: 'flush',
        late,
      };
      if (record.synthetic || this.#endsEvent(record)) {
        this.#finish(fresh, 'last-record', false);
      } else {
        this.#store(fresh);
        if (this.inFlight > this.#maxInFlight) this.#evictOldest();
      }
    } else if (isDuplicate(event, record)) {
      this.counters.duplicates++;
    } else {
      event.records.push(record);
      if (this.#endsEvent(record)) this.#finish(event, 'last-record', true);
    }
    if (record.time > this.#newestTime) {
      this.#newestTime = record.time;
      this.#expire(record.time);
    }
  }

  /**
   * Emit open events whose newest record is older than `idleMs` at wall time `now`.
   * The follower calls this when the file goes quiet, so a lone AVC without EOE (kernel
   * threads write those) is not held until the next record arrives.
   */
  flushIdle(now: number, idleMs: number): void {
    for (const event of this.#allOpen()) {
      const newest = event.records[event.records.length - 1] as AuditRecord;
      if (newest.time + idleMs <= now) this.#finish(event, 'timeout', true);
    }
  }

  /** ausearch's `----`: every open event is complete, and PROCTITLE stops ending events. */
  separator(): void {
    this.#proctitleEnds = false;
    this.close();
  }

  /** Emit everything still open (end of input). */
  close(): void {
    for (const event of this.#allOpen()) this.#finish(event, 'flush', true);
  }

  get inFlight(): number {
    return this.#open.size + this.#collisions.size;
  }

  /**
   * The smallest source offset among records of open events, or undefined when none is
   * open or offsets are unknown. A checkpoint must not pass it: those records are not
   * stored yet and must be read again after a restart.
   */
  oldestOpenOffset(): number | undefined {
    let min: number | undefined;
    for (const e of this.#allOpen()) {
      for (const r of e.records) if (r.offset >= 0 && (min === undefined || r.offset < min)) min = r.offset;
    }
    return min;
  }

  #endsEvent(record: AuditRecord): boolean {
    const t = record.typeNumber;
    return isLastRecord(t) && (this.#proctitleEnds || t !== TYPE.PROCTITLE);
  }

  #openEventOf(record: AuditRecord): AuditEvent | undefined {
    if (record.synthetic) return undefined;
    const e = this.#open.get(record.serial);
    if (e !== undefined && e.time === record.time && e.node === record.node) return e;
    if (this.#collisions.size === 0) return undefined;
    return this.#collisions.get(fullKey(record));
  }

  #store(event: AuditEvent): void {
    if (this.#open.has(event.serial)) this.#collisions.set(fullKey(event), event);
    else this.#open.set(event.serial, event);
  }

  #wasEmitted(record: AuditRecord): boolean {
    const e = this.#recent.get(record.serial);
    return e !== undefined && e.time === record.time && e.node === record.node;
  }

  /** Open events, oldest first, as a snapshot (finishing one while iterating is safe). */
  #allOpen(): AuditEvent[] {
    return [...this.#open.values(), ...this.#collisions.values()];
  }

  #expire(now: number): void {
    for (const event of this.#open.values()) {
      if (event.time + this.#timeoutMs > now) break;
      this.#finish(event, 'timeout', true);
    }
    if (this.#collisions.size > 0) {
      for (const event of [...this.#collisions.values()])
        if (event.time + this.#timeoutMs <= now) this.#finish(event, 'timeout', true);
    }
  }

  #evictOldest(): void {
    const first = this.#open.values().next();
    if (first.done) return;
    this.counters.evicted++;
    this.#finish(first.value, 'evicted', true);
  }

  #finish(event: AuditEvent, completion: AuditEvent['completion'], wasOpen: boolean): void {
    if (wasOpen) {
      if (this.#open.get(event.serial) === event) this.#open.delete(event.serial);
      else this.#collisions.delete(fullKey(event));
    }
    event.completion = completion;
    if (!event.records[0]?.synthetic) {
      const evicted = this.#recentRing[this.#recentNext];
      if (evicted !== undefined && this.#recent.get(evicted.serial) === evicted) this.#recent.delete(evicted.serial);
      const key: EventKey = { serial: event.serial, time: event.time, node: event.node };
      this.#recentRing[this.#recentNext] = key;
      this.#recentNext = (this.#recentNext + 1) % this.#recentLimit;
      this.#recent.set(event.serial, key);
    }
    this.counters.events++;
    this.#emit(event);
  }

  #noteSerial(record: AuditRecord): void {
    const last = this.#lastSerial.get(record.node);
    if (last !== undefined) {
      if (record.serial < last && last - record.serial > ROLLOVER_THRESHOLD) this.counters.rollovers++;
      else if (record.serial > last + 1) this.counters.serialGaps += record.serial - last - 1;
    }
    if (last === undefined || record.serial > last || last - record.serial > ROLLOVER_THRESHOLD) {
      this.#lastSerial.set(record.node, record.serial);
    }
  }
}

function fullKey(x: { serial: number; time: number; node: string | null }): string {
  return `${x.serial}:${x.time}:${x.node ?? ''}`;
}

function isDuplicate(event: AuditEvent, record: AuditRecord): boolean {
  for (const r of event.records) if (r.raw === record.raw) return true;
  return false;
}
