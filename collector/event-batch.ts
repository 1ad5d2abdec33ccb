/**
 * A batch of parsed events in the compact form the store writer writes from: numbers in
 * one Float64Array, each distinct string once, each distinct denial shape once (as the
 * JSON key the store's shape cache uses), and the raw records already deflated into the
 * batch's block. It is built where the events are parsed (on ingest's parse thread, or
 * inline by the writer) and crosses threads in one postMessage with its arrays
 * transferred: no object per event or denial is cloned, which is what made handing
 * parsed events to another thread cost as much as parsing them (docs/perf-history.md).
 */

import type { AuditFact } from '../core/denial.js';
import type { DenialOccurrence } from '../store/audit-trail.js';
import { deflateRawBlock } from '../store/raw-blocks.js';
import { shapeKeyOf } from '../store/denial-shape.js';
import type { AuditEvent } from './assemble.js';
import type { UnparsedLine } from './audit-record.js';
import type { EventFindings } from './denial.js';

export interface EventBatch {
  events: number;
  /** EVENT_SLOTS per event, each followed by DENIAL_SLOTS per denial of it. */
  numbers: Float64Array;
  /** Distinct strings; a slot holds an index into it, or -1 for null. */
  strings: string[];
  /** Distinct denial shapes (store/denial-shape.ts shapeKeyOf), and the newest time each is used. */
  shapes: string[];
  shapeTimes: Float64Array;
  /** Every event's records (lines joined by \n), events joined by \n: slices by textAt/textLen. */
  text: string;
  /**
   * `text` deflated (store/raw-blocks.ts), or null for a batch without events. Deflated
   * here, not by the writer: the writer alone bounds ingest once parsing has cores of
   * its own (bench/ingest).
   */
  block: Uint8Array | null;
  unparsed: UnparsedLine[];
}

// Slots of an event: host, time, serial, types (comma-joined), textAt, textLen,
// source offset (NaN: unknown), denial count, facts (JSON).
const EVENT_SLOTS = 9;
// Slots of a denial: shape, granted, permissive, scategories, tcategories, AppArmor
// profile, pid (NaN: none), inode (NaN: none), index of its record in the event.
const DENIAL_SLOTS = 9;

/** One denial of a batch event: the occurrence, its shape as an index into EventBatch.shapes. */
export interface BatchDenial extends Omit<DenialOccurrence, 'shapeId'> {
  shape: number;
  /** Its record's index in the event's records (the line it was read from). */
  record: number;
}

export interface BatchEvent {
  host: string | null;
  time: number;
  serial: number;
  /** Record types in arrival order, comma-joined. */
  types: string;
  textAt: number;
  textLen: number;
  sourceOffset: number | null;
  denials: BatchDenial[];
  facts: AuditFact[];
}

const NO_FACTS: AuditFact[] = [];

/** Collects events (an AuditStream sink) and packs them into an EventBatch. */
export class EventBatchPacker {
  #events = 0;
  #numbers: number[] = [];
  #strings: string[] = [];
  #stringIndex = new Map<string, number>();
  #shapes: string[] = [];
  #shapeTimes: number[] = [];
  #shapeIndex = new Map<string, number>();
  #texts: string[] = [];
  #textLength = 0;
  #unparsed: UnparsedLine[] = [];

  get pending(): number {
    return this.#events + this.#unparsed.length;
  }

  event(event: AuditEvent, findings: EventFindings): void {
    const text = event.records.map((r) => r.raw).join('\n');
    const first = event.records[0];
    const n = this.#numbers;
    n.push(
      this.#string(event.node),
      event.time,
      event.serial,
      this.#string(event.records.map((r) => r.type).join(',')),
      this.#textLength,
      text.length,
      first && first.offset >= 0 ? first.offset : NaN,
      findings.denials.length,
      findings.facts.length > 0 ? this.#string(JSON.stringify(findings.facts)) : -1,
    );
    this.#texts.push(text);
    this.#textLength += text.length + 1;
    this.#events++;
    for (const [i, d] of findings.denials.entries()) {
      n.push(
        this.#shape(shapeKeyOf(d), event.time),
        d.granted ? 1 : 0,
        d.permissive ? 1 : 0,
        this.#string(d.source.categories),
        this.#string(d.target.categories),
        this.#string(d.apparmor?.profile ?? null),
        d.source.pid ?? NaN,
        d.target.inode ?? NaN,
        event.records.indexOf(findings.denialRecords[i] as AuditEvent['records'][number]),
      );
    }
  }

  unparsed(item: UnparsedLine): void {
    this.#unparsed.push(item);
  }

  /** The batch of everything collected since the last finish; the packer starts empty again. */
  finish(): EventBatch {
    const text = this.#texts.join('\n');
    const batch: EventBatch = {
      events: this.#events,
      numbers: Float64Array.from(this.#numbers),
      strings: this.#strings,
      shapes: this.#shapes,
      shapeTimes: Float64Array.from(this.#shapeTimes),
      text,
      block: this.#events > 0 ? deflateRawBlock(text) : null,
      unparsed: this.#unparsed,
    };
    this.#events = 0;
    this.#numbers = [];
    this.#strings = [];
    this.#stringIndex = new Map();
    this.#shapes = [];
    this.#shapeTimes = [];
    this.#shapeIndex = new Map();
    this.#texts = [];
    this.#textLength = 0;
    this.#unparsed = [];
    return batch;
  }

  #string(value: string | null): number {
    if (value === null) return -1;
    let i = this.#stringIndex.get(value);
    if (i === undefined) {
      i = this.#strings.push(value) - 1;
      this.#stringIndex.set(value, i);
    }
    return i;
  }

  #shape(key: string, time: number): number {
    let i = this.#shapeIndex.get(key);
    if (i === undefined) {
      i = this.#shapes.push(key) - 1;
      this.#shapeTimes.push(time);
      this.#shapeIndex.set(key, i);
    } else if (time > (this.#shapeTimes[i] as number)) this.#shapeTimes[i] = time;
    return i;
  }
}

/**
 * The arrays postMessage can transfer instead of copying: those that own their whole
 * buffer (a small Buffer may be a slice of Node's shared pool, which must not be detached).
 */
export function transferablesOf(batch: EventBatch): ArrayBuffer[] {
  const views = [batch.numbers, batch.shapeTimes, ...(batch.block ? [batch.block] : [])];
  return views
    .filter((v) => v.byteOffset === 0 && v.byteLength === v.buffer.byteLength)
    .map((v) => v.buffer as ArrayBuffer);
}

/** Each event of the batch, in order, with its index. */
export function forEachBatchEvent(batch: EventBatch, visit: (event: BatchEvent, index: number) => void): void {
  const n = batch.numbers;
  const str = (slot: number): string | null => (slot < 0 ? null : (batch.strings[slot] as string));
  const num = (value: number): number | null => (Number.isNaN(value) ? null : value);
  let at = 0;
  for (let index = 0; index < batch.events; index++) {
    const denialCount = n[at + 7] as number;
    const factsSlot = n[at + 8] as number;
    const event: BatchEvent = {
      host: str(n[at] as number),
      time: n[at + 1] as number,
      serial: n[at + 2] as number,
      types: batch.strings[n[at + 3] as number] as string,
      textAt: n[at + 4] as number,
      textLen: n[at + 5] as number,
      sourceOffset: num(n[at + 6] as number),
      denials: new Array<BatchDenial>(denialCount),
      facts: factsSlot < 0 ? NO_FACTS : (JSON.parse(batch.strings[factsSlot] as string) as AuditFact[]),
    };
    at += EVENT_SLOTS;
    for (let d = 0; d < denialCount; d++, at += DENIAL_SLOTS)
      event.denials[d] = {
        shape: n[at] as number,
        granted: n[at + 1] === 1,
        permissive: n[at + 2] === 1,
        scategories: str(n[at + 3] as number),
        tcategories: str(n[at + 4] as number),
        aaProfile: str(n[at + 5] as number),
        spid: num(n[at + 6] as number),
        tinode: num(n[at + 7] as number),
        record: n[at + 8] as number,
      };
    visit(event, index);
  }
}

/** An event's records as lines (for the rare event whose key is stored already). */
export function batchEventLines(batch: EventBatch, event: BatchEvent): string[] {
  return batch.text.slice(event.textAt, event.textAt + event.textLen).split('\n');
}
