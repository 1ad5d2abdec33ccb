/**
 * Times as users type them: ISO 8601 (`2026-11-21T10:00:00Z`, `2026-11-21`) or a span
 * back from now (`90m`, `24h`, `7d`). Everything is integer milliseconds since the epoch.
 */

import { SvirtAuditError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SPAN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
// A date, optionally a time, optionally a zone. Without a zone the time is UTC: audit
// timestamps are UTC and a report must not change with the reader's TZ.
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parse a span like `90m` into milliseconds. Throws `BAD_INPUT`. */
export function parseSpan(text: string): number {
  const m = SPAN.exec(text.trim());
  if (!m) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `"${text}" is not a span`,
      'write a number and a unit: 30s, 90m, 24h, 7d, 2w',
    );
  }
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}

/**
 * Parse a point in time: ISO 8601 (UTC when no zone is given) or a span back from `now`.
 * Throws `BAD_INPUT` with an example of each accepted form.
 */
export function parseTimeSpec(text: string, now: number = Date.now()): number {
  const trimmed = text.trim();
  if (SPAN.test(trimmed)) return now - parseSpan(trimmed);
  if (ISO.test(trimmed)) {
    let iso = trimmed.replace(' ', 'T');
    if (iso.length === 10) iso += 'T00:00:00Z';
    else if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
    const ms = Date.parse(iso);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new SvirtAuditError(
    'BAD_INPUT',
    `"${text}" is not a time`,
    'use ISO 8601 (2026-11-21T10:00:00Z, 2026-11-21) or a span back from now (90m, 24h, 7d)',
  );
}

/**
 * A window whose start is after its end matches nothing by construction: throw BAD_INPUT
 * saying so, rather than answer "no denials". Either end may be missing.
 */
export function assertTimeWindow(since: number | undefined, until: number | undefined): void {
  if (since !== undefined && until !== undefined && since > until) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `since ${formatTime(since)} is after until ${formatTime(until)}`,
      'swap them, or leave one out',
    );
  }
}

/** ISO 8601 in UTC with milliseconds, the form every output uses. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}
