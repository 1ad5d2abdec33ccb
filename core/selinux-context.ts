/**
 * SELinux security contexts `user:role:type[:level]`, where level is `s0`,
 * `s0:c392,c662`, `s0-s0:c0.c1023` or `s0:c0.c5,c9`.
 */

import { CategorySet } from './category-set.js';
import { ContextError } from './errors.js';

/** One MLS level: a sensitivity and its categories. */
export interface Level {
  readonly sensitivity: number;
  readonly categories: CategorySet;
}

export interface SelinuxContext {
  readonly user: string;
  readonly role: string;
  readonly type: string;
  /** The low (current) level; absent when the context has no MLS part. */
  readonly low: Level | undefined;
  /** The high level (clearance); equal to `low` for single-level contexts. */
  readonly high: Level | undefined;
}

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Parse a context. Throws `ContextError` naming the part that is wrong (user, role, type,
 * level, sensitivity or category).
 */
export function parseSelinuxContext(text: string): SelinuxContext {
  const first = text.indexOf(':');
  const second = first === -1 ? -1 : text.indexOf(':', first + 1);
  const third = second === -1 ? -1 : text.indexOf(':', second + 1);
  if (first === -1 || second === -1) {
    throw new ContextError('context', `"${text}" is not user:role:type[:level]`, text);
  }
  const user = text.slice(0, first);
  const role = text.slice(first + 1, second);
  const type = third === -1 ? text.slice(second + 1) : text.slice(second + 1, third);
  checkName('user', user, text);
  checkName('role', role, text);
  checkName('type', type, text);
  if (third === -1) return { user, role, type, low: undefined, high: undefined };

  const range = text.slice(third + 1);
  const dash = range.indexOf('-');
  const low = parseLevel(dash === -1 ? range : range.slice(0, dash), text);
  const high = dash === -1 ? low : parseLevel(range.slice(dash + 1), text);
  if (high.sensitivity < low.sensitivity || !low.categories.isSubsetOf(high.categories)) {
    throw new ContextError('level', `high level of "${range}" does not dominate the low one`, text);
  }
  return { user, role, type, low, high };
}

/** Parse a context, or return undefined instead of throwing (for audit fields that may be anything). */
export function tryParseSelinuxContext(text: string): SelinuxContext | undefined {
  try {
    return parseSelinuxContext(text);
  } catch {
    return undefined;
  }
}

/** Parse one level `s0` or `s0:c1,c2`. Throws `ContextError`. */
export function parseLevel(text: string, whole: string = text): Level {
  const colon = text.indexOf(':');
  const sens = colon === -1 ? text : text.slice(0, colon);
  if (!/^s\d{1,4}$/.test(sens)) {
    throw new ContextError('sensitivity', `"${sens}" is not a sensitivity (expected s0, s1, …)`, whole);
  }
  const categories = colon === -1 ? CategorySet.EMPTY : CategorySet.parse(text.slice(colon + 1));
  if (colon !== -1 && categories.isEmpty) {
    throw new ContextError('category', `level "${text}" has a colon but no categories`, whole);
  }
  return { sensitivity: Number(sens.slice(1)), categories };
}

export function formatLevel(level: Level): string {
  const cats = level.categories.toString();
  return cats === '' ? `s${level.sensitivity}` : `s${level.sensitivity}:${cats}`;
}

/** Print a context back, categories in canonical form. */
export function formatSelinuxContext(ctx: SelinuxContext): string {
  const base = `${ctx.user}:${ctx.role}:${ctx.type}`;
  if (!ctx.low || !ctx.high) return base;
  const low = formatLevel(ctx.low);
  const sameLevel = ctx.low.sensitivity === ctx.high.sensitivity && ctx.low.categories.equals(ctx.high.categories);
  return sameLevel ? `${base}:${low}` : `${base}:${low}-${formatLevel(ctx.high)}`;
}

/**
 * The categories that identify a guest. sVirt labels are single-level, so low equals
 * high; for a range we take the high level, the clearance that MCS checks against.
 */
export function contextCategories(ctx: SelinuxContext): CategorySet {
  return ctx.high?.categories ?? CategorySet.EMPTY;
}

/** The same context with a different level, e.g. a base label plus an allocated pair. */
export function withLevel(ctx: SelinuxContext, level: Level): SelinuxContext {
  return { ...ctx, low: level, high: level };
}

function checkName(part: 'user' | 'role' | 'type', value: string, whole: string): void {
  if (!NAME.test(value)) {
    throw new ContextError(part, `"${value}" is not a valid ${part} name`, whole);
  }
}
