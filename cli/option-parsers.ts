/** Option values parsed where they are declared: bad input fails with commander's usage error. */

import { InvalidArgumentError } from 'commander';
import { normalizeUuid } from '../core/allocation.js';
import { CategorySet } from '../core/category-set.js';
import { isSvirtAuditError } from '../core/errors.js';
import { parseSize } from '../core/size-spec.js';
import { parseSpan, parseTimeSpec } from '../core/time-spec.js';
import { parseSyslogDestination, type SyslogDestination } from '../syslog/syslog-destination.js';

function asArgumentError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isSvirtAuditError(error))
      throw new InvalidArgumentError(error.hint ? `${error.message}; ${error.hint}` : error.message);
    throw error;
  }
}

export function parseTime(value: string): number {
  return asArgumentError(() => parseTimeSpec(value));
}

export function parseUuid(value: string): string {
  const uuid = normalizeUuid(value);
  if (!uuid) throw new InvalidArgumentError('expected a uuid like 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
  return uuid;
}

/** A thread count: 0 (none) up to 64. */
export function parseThreadCount(value: string): number {
  const n = value === '0' ? 0 : parsePositiveInt(value);
  if (n > 64) throw new InvalidArgumentError('expected at most 64');
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) {
    throw new InvalidArgumentError('expected a positive whole number');
  }
  return n;
}

export function parseCategoryRange(value: string): CategorySet {
  return asArgumentError(() => CategorySet.parse(value.replace(/^s\d+:/, '')));
}

/** A span like 90d or 12h, as milliseconds. */
export function parseSpanOption(value: string): number {
  return asArgumentError(() => parseSpan(value));
}

/** A size like 2G, 500M or 1048576 (bytes), as bytes. */
export function parseSizeOption(value: string): number {
  return asArgumentError(() => parseSize(value));
}

export function parseSyslogOption(value: string): SyslogDestination {
  return asArgumentError(() => parseSyslogDestination(value));
}
