/**
 * The fields of one record body: `key=value` pairs, with the irregular shapes real logs
 * contain, each handled in one named place:
 *
 * - the SELinux prefix `avc:  denied  { read write } for  pid=…` (and `granted`), read
 *   before the key=value loop, as linux-audit-parser-rs's parse_body does
 * - `msg='…'` of user-space records (USER_AVC, VIRT_*): parsed recursively into `nested`
 * - hex-encoded values of escaped fields (field-kinds.ts), decoded; `(null)` → null
 * - duplicate keys: the first wins (auparse's find-field does the same)
 * - keys with a space, as `old auid=` in old LOGIN records: joined to `old auid`
 * - `{ … }` values (ENRICHED `SADDR={ saddr_fam=inet … }`)
 * - the ENRICHED tail after 0x1d: upper-case translated fields, kept apart in `enriched`
 * - quotes that never close (a line cut short): value to the end, and a warning
 *
 * Optimization: like laurel, fields are kept as offsets into the raw line, and a value is
 * sliced (and hex-decoded) only when asked for. Most records are read for two or three
 * fields; building a Map of every field was the parser's largest cost (bench/parse).
 *
 * Pure and total: it never throws; what it cannot read becomes a warning.
 */

import { detached } from './detached-string.js';
import { decodeHex, fieldNumber, isEscapedField, looksHex } from './field-kinds.js';

export interface AvcPrefix {
  /** `denied` or `granted`, or another word for notices such as USER_AVC's policyload. */
  readonly result: string;
  readonly perms: readonly string[];
}

const BARE = 0;
const QUOTED = 1;
const SLOT = 5; // keyStart, keyEnd, valueStart, valueEnd, kind

/** What denial extraction reads from a record: satisfied by AuditFields and by KernelFields. */
export interface FieldReader {
  get(key: string): string | undefined;
  int(key: string): number | undefined;
  has(key: string): boolean;
  readonly avc: AvcPrefix | undefined;
}

export class AuditFields implements FieldReader {
  readonly #text: string;
  /** SLOT numbers per field, in order of appearance. */
  readonly #slots: number[] = [];
  /** Keys that are not a plain slice of the text (`old auid`), by field index. */
  #joinedKeys: Map<number, string> | undefined;
  #values: Map<string, string | null> | undefined;
  /** The `avc:  denied  { … } for` prefix, when the body starts with one. */
  avc: AvcPrefix | undefined;
  /** The fields inside `msg='…'` of user-space records. */
  nested: AuditFields | undefined;
  /** Translated fields after the ENRICHED separator (auditd's `log_format = ENRICHED`). */
  enriched: Map<string, string> | undefined;
  /** Problems found while reading (values not closed); duplicate keys are added on request. */
  readonly parseWarnings: string[] = [];

  constructor(text: string) {
    this.#text = text;
  }

  /** The decoded value of the first field called `key`; undefined when absent or `(null)`. */
  get(key: string): string | undefined {
    const i = this.#find(key);
    if (i === -1) return undefined;
    const v = this.#value(i);
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.#find(key) !== -1;
  }

  /** A field as a number, or undefined when absent or not a number. */
  int(key: string): number | undefined {
    return fieldNumber(this.get(key));
  }

  /** Every field, decoded, first occurrence of each key (built on first use). */
  get values(): Map<string, string | null> {
    if (this.#values === undefined) {
      const m = new Map<string, string | null>();
      for (let i = 0; i < this.#slots.length; i += SLOT) {
        const k = this.#key(i);
        if (!m.has(k)) m.set(k, this.#value(i));
      }
      this.#values = m;
    }
    return this.#values;
  }

  /** Keys whose value was written in hex and is decoded in `values`. */
  get hexKeys(): Set<string> {
    const out = new Set<string>();
    for (let i = 0; i < this.#slots.length; i += SLOT) {
      const k = this.#key(i);
      if (this.#isHex(i, k)) out.add(k);
    }
    return out;
  }

  /** Parse warnings, plus one per duplicated key. */
  get warnings(): string[] {
    const seen = new Set<string>();
    const out = [...this.parseWarnings];
    for (let i = 0; i < this.#slots.length; i += SLOT) {
      const k = this.#key(i);
      if (seen.has(k)) out.push(`duplicate field ${k}; the first is kept`);
      seen.add(k);
    }
    return out;
  }

  /** @internal used by the parser */
  addField(
    keyStart: number,
    keyEnd: number,
    valueStart: number,
    valueEnd: number,
    kind: number,
    joinedKey?: string,
  ): void {
    if (joinedKey !== undefined) (this.#joinedKeys ??= new Map()).set(this.#slots.length, joinedKey);
    this.#slots.push(keyStart, keyEnd, valueStart, valueEnd, kind);
  }

  #find(key: string): number {
    const s = this.#slots;
    const t = this.#text;
    const len = key.length;
    const first = key.charCodeAt(0);
    const joined = this.#joinedKeys;
    for (let i = 0; i < s.length; i += SLOT) {
      const ks = s[i] as number;
      // Optimization: length and first character reject almost every slot before startsWith.
      if ((s[i + 1] as number) - ks === len && t.charCodeAt(ks) === first && t.startsWith(key, ks)) {
        if (joined === undefined || !joined.has(i)) return i;
      }
      if (joined !== undefined && joined.get(i) === key) return i;
    }
    return -1;
  }

  #key(i: number): string {
    return this.#joinedKeys?.get(i) ?? this.#text.slice(this.#slots[i] as number, this.#slots[i + 1] as number);
  }

  #isHex(i: number, key: string): boolean {
    if (this.#slots[i + 4] !== BARE || !isEscapedField(key)) return false;
    return looksHex(this.#text.slice(this.#slots[i + 2] as number, this.#slots[i + 3] as number));
  }

  #value(i: number): string | null {
    const raw = this.#text.slice(this.#slots[i + 2] as number, this.#slots[i + 3] as number);
    if (this.#slots[i + 4] !== BARE) return raw;
    const c = raw.charCodeAt(0);
    // Optimization: only a value that starts with a hex digit can be hex; skip the key lookup otherwise.
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) {
      return raw === '(null)' ? null : raw;
    }
    return decodeBareValue(this.#key(i), raw);
  }
}

/** A bare (unquoted) value as the reader should see it: `(null)` → null, hex decoded. */
function decodeBareValue(key: string, raw: string): string | null {
  if (raw === '(null)') return null;
  if (!isEscapedField(key) || !looksHex(raw)) return raw;
  const decoded = decodeHex(raw);
  // An abstract unix socket's name starts with a NUL byte; show it as `@name`, as ss(8)
  // does (auparse drops the NUL, which makes it look like a file path).
  if (key !== 'proctitle' && decoded.charCodeAt(0) === 0) return `@${decoded.slice(1)}`;
  return decoded;
}

/**
 * One field of a kernel record, read straight from the line without parsing the body.
 * Exact for records the kernel writes (AVC, SYSCALL, PATH, CWD, PROCTITLE…): it
 * hex-encodes every value that holds a space or a quote, so ` key=` can only occur at a
 * field boundary. Not for user-space records, whose msg='…' may hold anything.
 * Returns undefined when the field is absent or `(null)`.
 */
export function kernelField(raw: string, bodyStart: number, bodyEnd: number, key: string): string | undefined {
  // ` key=`, found as `key` with a space before and `=` after (no pattern string to build).
  let at = raw.indexOf(key, bodyStart);
  while (at !== -1 && at < bodyEnd) {
    if ((at === bodyStart || raw.charCodeAt(at - 1) === 0x20) && raw.charCodeAt(at + key.length) === 0x3d) break;
    at = raw.indexOf(key, at + 1);
  }
  if (at === -1 || at >= bodyEnd) return undefined;
  const v = at + key.length + 1;
  if (raw.charCodeAt(v) === 0x22 /* " */) {
    const close = raw.indexOf('"', v + 1);
    return raw.slice(v + 1, close === -1 || close > bodyEnd ? bodyEnd : close);
  }
  let e = raw.indexOf(' ', v);
  if (e === -1 || e > bodyEnd) e = bodyEnd;
  return decodeBareValue(key, raw.slice(v, e)) ?? undefined;
}

/**
 * Fields of a kernel record read straight from the line (see kernelField), with the AVC
 * prefix parsed on its own: the reader extraction uses for kernel AVCs (no body parse).
 */
export class KernelFields implements FieldReader {
  readonly #raw: string;
  readonly #start: number;
  readonly #end: number;
  readonly avc: AvcPrefix | undefined;

  constructor(raw: string, start: number, end: number) {
    this.#raw = raw;
    let i = skipSpaces(raw, start, end);
    if (raw.startsWith('avc:', i)) {
      const holder = new AuditFields(raw);
      i = parseAvcPrefix(raw, i + 4, end, holder);
      this.avc = holder.avc;
    }
    this.#start = i;
    this.#end = end;
  }

  get(key: string): string | undefined {
    return kernelField(this.#raw, this.#start, this.#end, key);
  }

  int(key: string): number | undefined {
    return fieldNumber(this.get(key));
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
}

/** Parse `raw[start, end)` as a record body, and the ENRICHED tail after `end` if any. */
export function parseRecordBody(raw: string, start: number, end: number): AuditFields {
  const fields = new AuditFields(raw);
  let i = skipSpaces(raw, start, end);
  if (raw.startsWith('avc:', i)) i = parseAvcPrefix(raw, i + 4, end, fields);
  parsePairs(raw, i, end, fields);
  if (end < raw.length) {
    const enriched = new AuditFields(raw);
    parsePairs(raw, end + 1, raw.length, enriched);
    fields.enriched = new Map([...enriched.values].map(([k, v]) => [k, v ?? '(null)']));
  }
  return fields;
}

/** `avc:  denied  { read write } for  ` → result and perms; returns where the pairs start. */
function parseAvcPrefix(raw: string, from: number, end: number, fields: AuditFields): number {
  let i = skipSpaces(raw, from, end);
  let j = i;
  while (j < end && raw.charCodeAt(j) !== 0x20) j++;
  const result = raw.slice(i, j);
  i = skipSpaces(raw, j, end);
  if (raw.charCodeAt(i) !== 0x7b /* { */) {
    // A notice such as "avc:  received policyload notice (seqno=2)": no permission set.
    fields.avc = { result, perms: [] };
    return i;
  }
  const close = raw.indexOf('}', i);
  if (close === -1 || close > end) {
    fields.parseWarnings.push('the { permissions } of the AVC are not closed (line cut short?)');
    fields.avc = { result, perms: permissionList(raw.slice(i + 1, end)) };
    return end;
  }
  fields.avc = { result, perms: permissionList(raw.slice(i + 1, close)) };
  i = skipSpaces(raw, close + 1, end);
  if (raw.startsWith('for ', i)) i += 4;
  return i;
}

function parsePairs(raw: string, from: number, end: number, fields: AuditFields): void {
  let i = from;
  let wordStart = -1;
  let wordEnd = -1;
  while (i < end) {
    while (i < end && raw.charCodeAt(i) === 0x20) i++;
    if (i >= end) break;
    let k = i;
    let c = 0;
    while (k < end) {
      c = raw.charCodeAt(k);
      if (c === 0x3d /* = */ || c === 0x20) break;
      k++;
    }
    if (k >= end || c === 0x20) {
      // A word without `=`: free text, or the first half of a key such as `old auid=`.
      wordStart = i;
      wordEnd = k;
      i = k;
      continue;
    }
    let joined: string | undefined;
    if (wordStart !== -1 && wordEnd === i - 1) {
      const word = raw.slice(wordStart, wordEnd);
      if (word === 'old' || word === 'new') joined = `${word} ${raw.slice(i, k)}`;
    }
    wordStart = -1;
    const keyStart = i;
    const keyEnd = k;
    i = k + 1;
    const q = raw.charCodeAt(i);
    if (q === 0x22 /* " */) {
      const close = raw.indexOf('"', i + 1);
      if (close === -1 || close >= end) {
        fields.parseWarnings.push(`the value of ${raw.slice(keyStart, keyEnd)} is not closed (line cut short?)`);
        fields.addField(keyStart, keyEnd, i + 1, end, QUOTED, joined);
        i = end;
      } else {
        fields.addField(keyStart, keyEnd, i + 1, close, QUOTED, joined);
        i = close + 1;
      }
    } else if (q === 0x27 /* ' */) {
      const isMsg = keyEnd - keyStart === 3 && raw.startsWith('msg', keyStart);
      // msg='…' runs to the last quote: nested values may hold anything but a quote.
      const close = isMsg ? raw.lastIndexOf("'", end - 1) : raw.indexOf("'", i + 1);
      const stop = close > i ? close : end;
      if (close <= i)
        fields.parseWarnings.push(`the value of ${raw.slice(keyStart, keyEnd)} is not closed (line cut short?)`);
      fields.addField(keyStart, keyEnd, i + 1, stop, QUOTED, joined);
      if (isMsg) {
        const nested = new AuditFields(raw);
        let at = skipSpaces(raw, i + 1, stop);
        if (raw.startsWith('avc:', at)) at = parseAvcPrefix(raw, at + 4, stop, nested);
        parsePairs(raw, at, stop, nested);
        fields.nested = nested;
      }
      i = close > i ? close + 1 : end;
    } else if (q === 0x7b /* { */) {
      const close = raw.indexOf('}', i);
      const stop = close === -1 || close >= end ? end : close + 1;
      fields.addField(keyStart, keyEnd, i, stop, QUOTED, joined);
      i = stop;
    } else {
      // Optimization: V8's native search beats a charCodeAt loop over a sliced line (bench/parse).
      let v = raw.indexOf(' ', i);
      if (v === -1 || v > end) v = end;
      fields.addField(keyStart, keyEnd, i, v, BARE, joined);
      i = v;
    }
  }
}

function skipSpaces(raw: string, i: number, end: number): number {
  while (i < end && raw.charCodeAt(i) === 0x20) i++;
  return i;
}

// Optimization: a log repeats a few permission sets ({ read }, { read write }) thousands
// of times; split each once and share the (frozen) list (bench/parse).
const PERMS_CACHE_LIMIT = 1024;
const permsCache = new Map<string, readonly string[]>();

/** ` read write ` → ['read', 'write']. */
function permissionList(text: string): readonly string[] {
  let perms = permsCache.get(text);
  if (perms === undefined) {
    perms = Object.freeze(
      detached(text)
        .split(' ')
        .filter((w) => w !== ''),
    );
    if (permsCache.size >= PERMS_CACHE_LIMIT) permsCache.clear();
    permsCache.set(detached(text), perms);
  }
  return perms;
}
