/**
 * One audit record per `type=… msg=audit(SEC.MSEC:SERIAL): fields` line. Pure: no I/O.
 *
 * Only the header is read here, by one index moving over the string (as go-libaudit's
 * parseAuditHeader does); the body is parsed on first use of `fields` (record-body.ts),
 * so lines of events we drop never pay for it. The raw line is kept verbatim.
 *
 * Shapes handled, each in its own branch below:
 * - `type=AVC msg=audit(…): …` and `node=hv1 type=…` (auditd's raw and forwarded forms)
 * - `host=hv1 type=…` (old audispd remote form)
 * - kernel ring buffer and syslog: `[145094.56] audit: type=1400 audit(…): …`,
 *   `Jul 24 12:25:33 spriggan kernel: [42416.17] type=1400 audit(…): …` (field_avcs.txt)
 * - journald/rsyslog without an audit() header: `2023-05-30T20:54:39.770352+08:00 host
 *   audit[65317]: AVC avc: denied …` (field_avcs.txt, OpenCloudOS); the time comes from the
 *   syslog stamp and the serial is unknown (0), so each such line is its own event
 * - leading white space (audit lines inside YAML test data)
 * - ausearch output separators: `----` is handed out as a separator (it ends events; see
 *   assemble.ts), `time->…` and blank lines are skipped
 * - two records on one physical line (a writer that lost a newline): split
 */

import { type AuditFields, kernelField, parseRecordBody } from './record-body.js';
import { resolveRecordType } from './record-types.js';
import { fieldNumber } from './field-kinds.js';

export type UnparsedReason = 'not-audit' | 'malformed-header' | 'too-long';

/** A line that is not an audit record; kept with why, so nothing read is silently dropped. */
export interface UnparsedLine {
  readonly kind: 'unparsed';
  readonly line: string;
  readonly reason: UnparsedReason;
  readonly detail: string;
  /** Byte offset of the line in its source, when the reader knows it. */
  offset: number;
}

/** Lines longer than this are refused whole (the kernel caps a record at 8970 bytes). */
export const MAX_LINE_LENGTH = 1 << 20;

export class AuditRecord {
  readonly kind = 'record';
  /** The line exactly as read (without its line ending). */
  readonly raw: string;
  /** `node=` of forwarded records; null for the local host. */
  readonly node: string | null;
  /** Type name (`AVC`), or `UNKNOWN[n]` for a number we have no name for. */
  readonly type: string;
  /** Type number; -1 for a name we do not know. */
  readonly typeNumber: number;
  /** Event time, milliseconds since the epoch. */
  readonly time: number;
  readonly serial: number;
  /** True when the line had no audit() header (journald form): time from syslog, serial unknown. */
  readonly synthetic: boolean;
  /** Where the fields start and end in `raw` (end: the ENRICHED separator, or the line's end). */
  readonly bodyStart: number;
  readonly bodyEnd: number;
  /** Byte offset of the line in its source, when the reader knows it (-1 otherwise). */
  offset = -1;
  #fields: AuditFields | undefined;

  constructor(
    raw: string,
    node: string | null,
    type: string,
    typeNumber: number,
    time: number,
    serial: number,
    bodyStart: number,
    bodyEnd: number,
    synthetic = false,
  ) {
    this.raw = raw;
    this.node = node;
    this.type = type;
    this.typeNumber = typeNumber;
    this.time = time;
    this.serial = serial;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
    this.synthetic = synthetic;
  }

  /** The parsed fields, parsed on first use. Never throws: problems become `warnings`. */
  get fields(): AuditFields {
    if (this.#fields === undefined) this.#fields = parseRecordBody(this.raw, this.bodyStart, this.bodyEnd);
    return this.#fields;
  }

  /**
   * One field read straight from the line, for records the kernel writes (see
   * record-body.ts kernelField): no body parse, no allocation but the value.
   */
  field(key: string): string | undefined {
    if (this.#fields !== undefined) return this.#fields.get(key);
    return kernelField(this.raw, this.bodyStart, this.bodyEnd, key);
  }

  /** Warnings of the body parse, if the body was parsed (0 otherwise: nothing was looked at). */
  get parseWarningCount(): number {
    return this.#fields?.parseWarnings.length ?? 0;
  }

  /** A kernel field as a number (see `field`). */
  intField(key: string): number | undefined {
    return fieldNumber(this.field(key));
  }

  /** The ENRICHED part after the 0x1d separator (translated values), or '' when absent. */
  get enrichedText(): string {
    return this.bodyEnd < this.raw.length ? this.raw.slice(this.bodyEnd + 1) : '';
  }
}

/** ausearch's `----` line: the events before it are complete. */
export interface Separator {
  readonly kind: 'separator';
}

const SEPARATOR: Separator = { kind: 'separator' };

export type ParsedItem = AuditRecord | UnparsedLine | Separator;

const NODE = 'node=';
const HOST = 'host=';
const TYPE = 'type=';
const MSG_AUDIT = 'msg=audit(';
const AUDIT = 'audit(';
const ENRICHED_SEPARATOR = '\x1d';

/**
 * Parse one physical line and hand each record (or the unparsed line, or an ausearch
 * separator) to `emit`. Blank lines and `time->` lines emit nothing. Never throws.
 */
export function parseAuditLine(input: string, emit: (item: ParsedItem) => void): void {
  let line = input;
  // CRLF logs and trailing blanks: the record ends at its last printable character.
  let end = line.length;
  while (end > 0) {
    const c = line.charCodeAt(end - 1);
    if (c !== 0x0d && c !== 0x20 && c !== 0x09 && c !== 0x0a) break;
    end--;
  }
  if (end !== line.length) line = line.slice(0, end);
  if (line.length === 0) return;
  if (line.length > MAX_LINE_LENGTH) {
    emit(unparsed(line.slice(0, 200), 'too-long', `line of ${line.length} characters; records are at most 8970 bytes`));
    return;
  }

  // Fast path: auditd's own format.
  const first = line.charCodeAt(0);
  if (first === 0x74 /* t */ && line.startsWith(TYPE)) {
    parseFromType(line, 0, null, emit);
    return;
  }
  if (first === 0x6e /* n */ && line.startsWith(NODE)) {
    const sp = line.indexOf(' ', NODE.length);
    if (sp !== -1 && line.startsWith(TYPE, sp + 1)) {
      parseFromType(line, sp + 1, line.slice(NODE.length, sp), emit);
      return;
    }
  }
  parseWrapped(line, emit);
}

/** The slow path: something stands before `type=`, or the line has no audit() header. */
function parseWrapped(line: string, emit: (item: ParsedItem) => void): void {
  let start = 0;
  while (start < line.length && (line.charCodeAt(start) === 0x20 || line.charCodeAt(start) === 0x09)) start++;
  if (line.startsWith('----', start)) {
    emit(SEPARATOR);
    return;
  }
  if (line.startsWith('time->', start)) return;

  const auditAt = line.indexOf(AUDIT);
  if (auditAt !== -1) {
    const typeAt = line.lastIndexOf(TYPE, auditAt);
    if (typeAt !== -1) {
      parseFromType(line, typeAt, nodeFromPrefix(line, typeAt), emit);
      return;
    }
  }
  const journald = line.indexOf('audit[');
  if (journald !== -1) {
    parseJournald(line, journald, emit);
    return;
  }
  if (auditAt !== -1) {
    emit(unparsed(line, 'malformed-header', 'audit( without a type= before it'));
    return;
  }
  emit(unparsed(line, 'not-audit', 'no type= and audit( header'));
}

/** `node=` (or the old `host=`) in whatever stands before `type=`. */
function nodeFromPrefix(line: string, typeAt: number): string | null {
  for (const key of [NODE, HOST]) {
    const at = line.lastIndexOf(key, typeAt);
    if (at !== -1 && (at === 0 || line.charCodeAt(at - 1) === 0x20)) {
      const sp = line.indexOf(' ', at);
      if (sp !== -1 && sp < typeAt) return line.slice(at + key.length, sp);
    }
  }
  return null;
}

/**
 * Parse from `type=` at `at`: the type token, `msg=audit(` (or dmesg's bare `audit(`),
 * `SEC.MSEC:SERIAL):`, then the body.
 */
function parseFromType(line: string, at: number, node: string | null, emit: (item: ParsedItem) => void): void {
  const typeStart = at + TYPE.length;
  const typeEnd = line.indexOf(' ', typeStart);
  if (typeEnd === -1 || typeEnd === typeStart) {
    emit(unparsed(line, 'malformed-header', 'type= is not followed by a type and a space'));
    return;
  }
  let i = typeEnd + 1;
  if (line.startsWith(MSG_AUDIT, i)) i += MSG_AUDIT.length;
  else if (line.startsWith(AUDIT, i)) i += AUDIT.length;
  else {
    emit(unparsed(line, 'malformed-header', 'expected msg=audit( after the type'));
    return;
  }

  // SEC.MSEC:SERIAL): scanned digit by digit.
  let sec = 0;
  let digits = 0;
  let c = line.charCodeAt(i);
  while (c >= 0x30 && c <= 0x39 && digits < 12) {
    sec = sec * 10 + (c - 0x30);
    digits++;
    c = line.charCodeAt(++i);
  }
  if (digits === 0 || c !== 0x2e /* . */) {
    emit(unparsed(line, 'malformed-header', 'the audit() timestamp is not SEC.MSEC'));
    return;
  }
  c = line.charCodeAt(++i);
  let msec = 0;
  let msDigits = 0;
  while (c >= 0x30 && c <= 0x39 && msDigits < 9) {
    msec = msec * 10 + (c - 0x30);
    msDigits++;
    c = line.charCodeAt(++i);
  }
  if (msDigits === 0 || c !== 0x3a /* : */) {
    emit(unparsed(line, 'malformed-header', 'the audit() timestamp is not SEC.MSEC:SERIAL'));
    return;
  }
  // auditd prints exactly three fraction digits; scale anything else to milliseconds.
  if (msDigits !== 3) msec = Math.floor(msec * 10 ** (3 - msDigits));
  c = line.charCodeAt(++i);
  let serial = 0;
  let serialDigits = 0;
  while (c >= 0x30 && c <= 0x39 && serialDigits < 11) {
    serial = serial * 10 + (c - 0x30);
    serialDigits++;
    c = line.charCodeAt(++i);
  }
  if (serialDigits === 0 || c !== 0x29 /* ) */) {
    emit(unparsed(line, 'malformed-header', 'the audit() header does not end in ")"'));
    return;
  }
  // Old auditd wrote DAEMON_* records as `audit(1490239800.477:34) config changed`, without
  // the colon (go-libaudit audit-rhel7.log); auparse reads them, so do we.
  const after = line.charCodeAt(i + 1);
  if (after === 0x3a /* : */) i += 2;
  else if (after === 0x20 || Number.isNaN(after)) i += 1;
  else {
    emit(unparsed(line, 'malformed-header', 'the audit() header does not end in "):"'));
    return;
  }
  if (line.charCodeAt(i) === 0x20) i++;

  const { name, number } = resolveRecordType(line.slice(typeStart, typeEnd));
  // Two records on one line: a second header inside this one's body.
  const second = line.indexOf(MSG_AUDIT, i);
  let recordEnd = line.length;
  let rest: string | undefined;
  if (second !== -1) {
    const secondType = line.lastIndexOf(TYPE, second);
    if (secondType > i) {
      let splitAt = secondType;
      for (const key of [NODE, HOST]) {
        const at = line.lastIndexOf(key, secondType);
        if (at > i && line.indexOf(' ', at) === secondType - 1) splitAt = at;
      }
      recordEnd = splitAt;
      while (recordEnd > i && line.charCodeAt(recordEnd - 1) === 0x20) recordEnd--;
      rest = line.slice(splitAt);
    }
  }
  const raw = rest === undefined ? line : line.slice(0, recordEnd);
  const enriched = raw.indexOf(ENRICHED_SEPARATOR, i);
  emit(new AuditRecord(raw, node, name, number, sec * 1000 + msec, serial, i, enriched === -1 ? raw.length : enriched));
  if (rest !== undefined) {
    // The second record belongs to the same host as the first unless it names its own.
    parseAuditLine(rest, (item) =>
      emit(item instanceof AuditRecord && item.node === null && node !== null ? withNode(item, node) : item),
    );
  }
}

function withNode(r: AuditRecord, node: string): AuditRecord {
  return new AuditRecord(r.raw, node, r.type, r.typeNumber, r.time, r.serial, r.bodyStart, r.bodyEnd, r.synthetic);
}

/** `… audit[PID]: TYPE body`, with an RFC 3339 syslog time at the start of the line. */
function parseJournald(line: string, at: number, emit: (item: ParsedItem) => void): void {
  const close = line.indexOf(']: ', at);
  const typeEnd = close === -1 ? -1 : line.indexOf(' ', close + 3);
  const time = Date.parse(line.slice(0, line.indexOf(' ')));
  if (close === -1 || typeEnd === -1 || Number.isNaN(time)) {
    emit(unparsed(line, 'malformed-header', 'audit[PID]: without a type or an RFC 3339 time'));
    return;
  }
  const { name, number } = resolveRecordType(line.slice(close + 3, typeEnd));
  const bodyStart = typeEnd + 1;
  const enriched = line.indexOf(ENRICHED_SEPARATOR, bodyStart);
  emit(new AuditRecord(line, null, name, number, time, 0, bodyStart, enriched === -1 ? line.length : enriched, true));
}

function unparsed(line: string, reason: UnparsedReason, detail: string): UnparsedLine {
  return { kind: 'unparsed', line, reason, detail, offset: -1 };
}

/** Parse a line and return what it held (convenience for tests and one-off callers). */
export function parseAuditRecords(line: string): ParsedItem[] {
  const out: ParsedItem[] = [];
  parseAuditLine(line, (item) => out.push(item));
  return out;
}
