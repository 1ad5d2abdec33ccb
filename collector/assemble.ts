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
 * counted as evicted; and by `maxRecordsPerEvent`: an event that reaches it (no kernel
 * event comes near; a log whose serials are stuck does) is emitted, and its later records
 * form a new event with the same key, flagged late, which the store joins to it. Like
 * go-libaudit's Reassembler, what was cut is counted, not hidden.
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
  completion: 'last-record' | 'timeout' | 'evicted' | 'flush' | 'too-many-records';
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
  /** Events emitted on reaching maxRecordsPerEvent records (the rest follow as a late event). */
  split: number;
  /** Serial numbers skipped between consecutive new events of one node (dropped or filtered). */
  serialGaps: number;
  /** Times the serial wrapped from 2^32-1 back to a small number. */
  rollovers: number;
}

export interface AssemblerOptions {
  /** auparse's eoe_timeout: 2000 ms. */
  timeoutMs?: number;
  maxInFlight?: number;
  /** Records one event may hold before it is emitted and continued as a late event: 4096. */
  maxRecordsPerEvent?: number;
  /** How many emitted event keys to remember for late-record detection. */
  recentKeys?: number;
}

const ROLLOVER_THRESHOLD = 2 ** 31;

/** An open event with the assembler's bookkeeping (the sink sees it as an AuditEvent). */
interface OpenEvent extends AuditEvent {
  /** Another open event with the same serial (another node, or a reused serial). */
  sameSerial: OpenEvent | undefined;
  open: boolean;
  /** The lines of a large event, for duplicate checks in constant time (see isDuplicate). */
  lines: Set<string> | undefined;
}

export class EventAssembler {
  readonly counters: AssemblerCounters = {
    records: 0,
    events: 0,
    duplicates: 0,
    late: 0,
    evicted: 0,
    split: 0,
    serialGaps: 0,
    rollovers: 0,
  };
  readonly #emit: (event: AuditEvent) => void;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #maxRecords: number;
  /**
   * Open events by serial; events that share a serial are chained through `sameSerial`.
   * Optimization: a number key and a chain instead of a string key of (node, time,
   * serial), which showed in the profile (bench/parse).
   */
  readonly #bySerial = new Map<number, OpenEvent>();
  /**
   * Events in the order they were opened, oldest first, from `#head` on; finished ones
   * are skipped and compacted away. Expiry and eviction take from the front.
   */
  #queue: OpenEvent[] = [];
  #head = 0;
  #inFlight = 0;
  /** The event the previous record went to: the next record usually belongs to it too. */
  #last: OpenEvent | undefined;
  /**
   * Keys of the last `recentKeys` emitted events, for late-record detection: a ring of
   * plain values, with the ring slot of each serial per node in `#recentSlot`. Keys, not
   * events: holding 4,096 events kept their records alive into the old generation (GC
   * cost). Per node, because a log forwarded from several hosts repeats serials: host B's
   * event must not hide that host A's event with the same serial was emitted.
   */
  readonly #recentSlot = new Map<string | null, Map<number, number>>();
  readonly #recentSerial: Float64Array;
  readonly #recentTime: Float64Array;
  readonly #recentNode: (string | null)[];
  #recentNext = 0;
  /** The highest serial ever emitted: a record above it cannot be late (no lookup needed). */
  #maxEmittedSerial = -1;
  readonly #lastSerial = new Map<string | null, number>();
  #newestTime = 0;
  #proctitleEnds = true;

  /** `emit` is called once per completed event, synchronously, in completion order. */
  constructor(emit: (event: AuditEvent) => void, options: AssemblerOptions = {}) {
    this.#emit = emit;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#maxInFlight = options.maxInFlight ?? 8192;
    this.#maxRecords = Math.max(2, options.maxRecordsPerEvent ?? 4096);
    const recent = Math.max(1, options.recentKeys ?? 4096);
    this.#recentSerial = new Float64Array(recent).fill(-1);
    this.#recentTime = new Float64Array(recent);
    this.#recentNode = new Array<string | null>(recent).fill(null);
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
      const fresh: OpenEvent = {
        node: record.node,
        time: record.time,
        serial: record.serial,
        records: [record],
        completion: 'flush',
        late,
        sameSerial: undefined,
        open: false,
        lines: undefined,
      };
      if (record.synthetic || this.#endsEvent(record)) {
        this.#finish(fresh, 'last-record');
      } else {
        this.#store(fresh);
        if (this.#inFlight > this.#maxInFlight) this.#evictOldest();
      }
    } else if (isDuplicate(event, record)) {
      this.counters.duplicates++;
    } else if (event.records.length >= this.#maxRecords) {
      this.counters.split++;
      this.#finish(event, 'too-many-records');
      // Its key is now a recently emitted one: the record opens a late event.
      this.counters.records--;
      this.push(record);
      return;
    } else {
      event.records.push(record);
      event.lines?.add(record.raw);
      if (this.#endsEvent(record)) this.#finish(event, 'last-record');
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
      if (newest.time + idleMs <= now) this.#finish(event, 'timeout');
    }
  }

  /** ausearch's `----`: every open event is complete, and PROCTITLE stops ending events. */
  separator(): void {
    this.#proctitleEnds = false;
    this.close();
  }

  /** Emit everything still open (end of input). */
  close(): void {
    for (const event of this.#allOpen()) this.#finish(event, 'flush');
  }

  get inFlight(): number {
    return this.#inFlight;
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

  #openEventOf(record: AuditRecord): OpenEvent | undefined {
    if (record.synthetic) return undefined;
    const last = this.#last;
    if (last !== undefined && last.open && sameKey(last, record)) return last;
    let e = this.#bySerial.get(record.serial);
    while (e !== undefined && !sameKey(e, record)) e = e.sameSerial;
    if (e !== undefined) this.#last = e;
    return e;
  }

  #store(event: OpenEvent): void {
    event.open = true;
    event.sameSerial = this.#bySerial.get(event.serial);
    this.#bySerial.set(event.serial, event);
    this.#queue.push(event);
    this.#inFlight++;
    this.#last = event;
  }

  #unlink(event: OpenEvent): void {
    event.open = false;
    this.#inFlight--;
    const head = this.#bySerial.get(event.serial);
    if (head === event) {
      if (event.sameSerial === undefined) this.#bySerial.delete(event.serial);
      else this.#bySerial.set(event.serial, event.sameSerial);
    } else {
      let e = head;
      while (e !== undefined && e.sameSerial !== event) e = e.sameSerial;
      if (e !== undefined) e.sameSerial = event.sameSerial;
    }
    event.sameSerial = undefined;
    // Finished events are dropped from the front of the queue as it advances; an old
    // event that stays open must not keep the finished ones behind it alive without bound.
    if (this.#queue.length - this.#head > 4 * this.#inFlight + 1024) this.#compact();
  }

  #compact(): void {
    this.#queue = this.#queue.slice(this.#head).filter((e) => e.open);
    this.#head = 0;
  }

  /** The oldest open event (dropping finished ones from the front of the queue). */
  #front(): OpenEvent | undefined {
    const q = this.#queue;
    while (this.#head < q.length && !(q[this.#head] as OpenEvent).open) this.#head++;
    if (this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
      return undefined;
    }
    if (this.#head > 4096) this.#compact();
    return this.#queue[this.#head];
  }

  #wasEmitted(record: AuditRecord): boolean {
    if (record.serial > this.#maxEmittedSerial) return false;
    const slot = this.#recentSlot.get(record.node)?.get(record.serial);
    return slot !== undefined && this.#recentTime[slot] === record.time;
  }

  /** Open events, oldest first, as a snapshot (finishing one while iterating is safe). */
  #allOpen(): OpenEvent[] {
    const out: OpenEvent[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i] as OpenEvent;
      if (e.open) out.push(e);
    }
    return out;
  }

  #expire(now: number): void {
    for (let e = this.#front(); e !== undefined; e = this.#front()) {
      if (e.time + this.#timeoutMs > now) break;
      this.#finish(e, 'timeout');
    }
  }

  #evictOldest(): void {
    const first = this.#front();
    if (first === undefined) return;
    this.counters.evicted++;
    this.#finish(first, 'evicted');
  }

  #finish(event: OpenEvent, completion: AuditEvent['completion']): void {
    if (event.open) this.#unlink(event);
    event.completion = completion;
    if (!event.records[0]?.synthetic) this.#remember(event);
    this.counters.events++;
    this.#emit(event);
  }

  #remember(event: OpenEvent): void {
    const slot = this.#recentNext;
    const evicted = this.#recentSerial[slot] as number;
    if (evicted >= 0) {
      const ofNode = this.#recentSlot.get(this.#recentNode[slot] as string | null);
      if (ofNode?.get(evicted) === slot) ofNode.delete(evicted);
    }
    this.#recentSerial[slot] = event.serial;
    this.#recentTime[slot] = event.time;
    this.#recentNode[slot] = event.node;
    let ofNode = this.#recentSlot.get(event.node);
    if (ofNode === undefined) {
      ofNode = new Map();
      this.#recentSlot.set(event.node, ofNode);
    }
    ofNode.set(event.serial, slot);
    this.#recentNext = slot + 1 === this.#recentSerial.length ? 0 : slot + 1;
    if (event.serial > this.#maxEmittedSerial) this.#maxEmittedSerial = event.serial;
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

function sameKey(e: AuditEvent, r: AuditRecord): boolean {
  return e.serial === r.serial && e.time === r.time && e.node === r.node;
}

/** Past this many records an event keeps a set of its lines: a linear scan per record would make it quadratic. */
const LINEAR_DUPLICATE_CHECK = 16;

function isDuplicate(event: OpenEvent, record: AuditRecord): boolean {
  if (event.lines === undefined) {
    if (event.records.length < LINEAR_DUPLICATE_CHECK) {
      for (const r of event.records) if (r.raw === record.raw) return true;
      return false;
    }
    event.lines = new Set(event.records.map((r) => r.raw));
  }
  return event.lines.has(record.raw);
}
