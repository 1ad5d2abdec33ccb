/**
 * The fields of one record body: `key=value` pairs, with the irregular shapes real logs
 * contain, each handled in one named place:
 *
 * - the SELinux prefix `avc:  denied  { read write } for  pid=…` (and `granted`), read
 *   before the key=value loop, as linux-audit-parser-rs's parse_body does
 * - `msg='…'` of user-space records (USER_AVC, VIRT_*): parsed recursively into `nested`
 * - hex-encoded values of escaped fields (field-kinds.ts), decoded; `(null)` → null
 * - duplicate keys: the first wins (auparse's find-field does the same); counted
 * - keys with a space, as `old auid=` in old LOGIN records: joined to `old auid`
 * - `{ … }` values (ENRICHED `SADDR={ saddr_fam=inet … }`)
 * - the ENRICHED tail after 0x1d: upper-case translated fields, kept apart in `enriched`
 * - quotes that never close (a line cut short): value to the end, and a warning
 *
 * Pure and total: it never throws; what it cannot read becomes a warning.
 */

import { decodeHex, isEscapedField, looksHex } from './field-kinds.js';

export interface AvcPrefix {
  /** `denied` or `granted`, or another word for notices such as USER_AVC's policyload. */
  readonly result: string;
  readonly perms: readonly string[];
}

export class AuditFields {
  /** Decoded values by key; null for `(null)`. */
  readonly values = new Map<string, string | null>();
  /** Keys whose value was hex and has been decoded. */
  readonly hexKeys = new Set<string>();
  /** The `avc:  denied  { … } for` prefix, when the body starts with one. */
  avc: AvcPrefix | undefined;
  /** The fields inside `msg='…'` of user-space records. */
  nested: AuditFields | undefined;
  /** Translated fields after the ENRICHED separator (auditd's `log_format = ENRICHED`). */
  enriched: Map<string, string> | undefined;
  readonly warnings: string[] = [];

  get(key: string): string | undefined {
    const v = this.values.get(key);
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  /** A field as an integer, or undefined when absent or not a number. */
  int(key: string): number | undefined {
    const v = this.values.get(key);
    if (v === undefined || v === null || v === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
}

/** Parse `raw[start, end)` as a record body, and the ENRICHED tail after `end` if any. */
export function parseRecordBody(raw: string, start: number, end: number): AuditFields {
  const fields = new AuditFields();
  let i = skipSpaces(raw, start, end);
  if (raw.startsWith('avc:', i)) i = parseAvcPrefix(raw, i + 4, end, fields);
  parsePairs(raw, i, end, fields);
  if (end < raw.length) {
    const enriched = new AuditFields();
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
    fields.warnings.push('the { permissions } of the AVC are not closed (line cut short?)');
    fields.avc = { result, perms: splitWords(raw.slice(i + 1, end)) };
    return end;
  }
  fields.avc = { result, perms: splitWords(raw.slice(i + 1, close)) };
  i = skipSpaces(raw, close + 1, end);
  if (raw.startsWith('for ', i)) i += 4;
  return i;
}

function parsePairs(raw: string, from: number, end: number, fields: AuditFields): void {
  let i = from;
  let pendingWord: string | undefined;
  while (i < end) {
    i = skipSpaces(raw, i, end);
    if (i >= end) break;
    let k = i;
    while (k < end) {
      const c = raw.charCodeAt(k);
      if (c === 0x3d /* = */ || c === 0x20) break;
      k++;
    }
    if (k >= end || raw.charCodeAt(k) === 0x20) {
      // A word without `=`: free text, or the first half of a key such as `old auid=`.
      pendingWord = raw.slice(i, k);
      i = k;
      continue;
    }
    let key = raw.slice(i, k);
    if (pendingWord !== undefined && (pendingWord === 'old' || pendingWord === 'new')) key = `${pendingWord} ${key}`;
    pendingWord = undefined;
    i = k + 1;
    let value: string;
    let quoted = false;
    const q = raw.charCodeAt(i);
    if (q === 0x22 /* " */) {
      const close = raw.indexOf('"', i + 1);
      if (close === -1 || close >= end) {
        fields.warnings.push(`the value of ${key} is not closed (line cut short?)`);
        value = raw.slice(i + 1, end);
        i = end;
      } else {
        value = raw.slice(i + 1, close);
        i = close + 1;
      }
      quoted = true;
    } else if (q === 0x27 /* ' */) {
      // msg='…' runs to the last quote: nested values may hold anything but a quote.
      const close = key === 'msg' ? raw.lastIndexOf("'", end - 1) : raw.indexOf("'", i + 1);
      const stop = close > i ? close : end;
      if (close <= i) fields.warnings.push(`the value of ${key} is not closed (line cut short?)`);
      value = raw.slice(i + 1, stop);
      if (key === 'msg') {
        const nested = new AuditFields();
        const body = skipSpaces(value, 0, value.length);
        let at = body;
        if (value.startsWith('avc:', body)) at = parseAvcPrefix(value, body + 4, value.length, nested);
        parsePairs(value, at, value.length, nested);
        fields.nested = nested;
      }
      i = close > i ? close + 1 : end;
      quoted = true;
    } else if (q === 0x7b /* { */) {
      const close = raw.indexOf('}', i);
      const stop = close === -1 || close >= end ? end : close + 1;
      value = raw.slice(i, stop);
      i = stop;
    } else {
      let v = i;
      while (v < end && raw.charCodeAt(v) !== 0x20) v++;
      value = raw.slice(i, v);
      i = v;
    }
    if (fields.values.has(key)) {
      fields.warnings.push(`duplicate field ${key}; the first is kept`);
      continue;
    }
    if (!quoted && value === '(null)') {
      fields.values.set(key, null);
    } else if (!quoted && isEscapedField(key) && looksHex(value)) {
      let decoded = decodeHex(value);
      // An abstract unix socket's name starts with a NUL byte; show it as `@name`, as ss(8)
      // does (auparse drops the NUL, which makes it look like a file path).
      if (key !== 'proctitle' && decoded.charCodeAt(0) === 0) decoded = `@${decoded.slice(1)}`;
      fields.values.set(key, decoded);
      fields.hexKeys.add(key);
    } else {
      fields.values.set(key, value);
    }
  }
}

function skipSpaces(raw: string, i: number, end: number): number {
  while (i < end && raw.charCodeAt(i) === 0x20) i++;
  return i;
}

function splitWords(text: string): string[] {
  return text.split(' ').filter((w) => w !== '');
}
