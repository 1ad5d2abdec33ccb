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

/**
 * The times we store and show: from the epoch to the end of year 9999, the range ISO 8601's
 * four-digit year covers. A span of 99999999999h or a date in year 275760 is a typo or an
 * attack, and a value outside JavaScript's Date range cannot even be printed.
 */
export const EARLIEST_TIME_MS = 0;
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function isTimeInRange(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= EARLIEST_TIME_MS && ms <= LATEST_TIME_MS;
}

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
  let ms = Number.NaN;
  if (SPAN.test(trimmed)) ms = now - parseSpan(trimmed);
  else if (ISO.test(trimmed)) {
    let iso = trimmed.replace(' ', 'T');
    if (iso.length === 10) iso += 'T00:00:00Z';
    else if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
    ms = Date.parse(iso);
  }
  if (!Number.isNaN(ms)) {
    if (isTimeInRange(ms)) return ms;
    throw new SvirtAuditError(
      'BAD_INPUT',
      `"${text}" is outside the times svirt-audit keeps`,
      `give a time between ${formatTime(EARLIEST_TIME_MS)} and ${formatTime(LATEST_TIME_MS)}`,
    );
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

/**
 * ISO 8601 in UTC with milliseconds, the form every output uses. Never throws: a stored
 * value outside the range (a row written before the range was checked) prints as
 * `invalid time N`, so one bad row cannot take a listing down.
 */
export function formatTime(ms: number): string {
  return isTimeInRange(ms) ? new Date(ms).toISOString() : `invalid time ${ms}`;
}
