/**
 * MCS category sets: the part of an SELinux level that tells one sVirt guest from another.
 *
 * The kernel and libvirt print the same set differently: libvirt formats a pair as
 * `c5,c6`, the kernel compresses any run into a range (`c5.c6`). Attribution therefore
 * compares normalized sets, never the strings read from a log.
 */

import { ContextError } from './errors.js';

/** Highest category number SELinux policies define (c0.c1023). */
export const MAX_CATEGORY = 1023;

/** An immutable, sorted, duplicate-free set of category numbers. */
export class CategorySet {
  /** Sorted ascending, no duplicates. */
  readonly members: readonly number[];

  private constructor(members: readonly number[]) {
    this.members = members;
  }

  static readonly EMPTY = new CategorySet([]);

  /** Build a set from any numbers (sorted and de-duplicated here). Throws on a number outside 0..1023. */
  static of(numbers: Iterable<number>): CategorySet {
    const unique = [...new Set(numbers)].sort((a, b) => a - b);
    for (const n of unique) {
      if (!Number.isInteger(n) || n < 0 || n > MAX_CATEGORY) {
        throw new ContextError('category', `category c${n} is outside c0..c${MAX_CATEGORY}`, String(n));
      }
    }
    return unique.length === 0 ? CategorySet.EMPTY : new CategorySet(unique);
  }

  /**
   * Parse the category part of a level: `c392,c662`, `c0.c1023`, `c0.c5,c9`.
   * An empty string is the empty set. Throws `ContextError` (part `category`) on anything else.
   */
  static parse(text: string): CategorySet {
    if (text === '') return CategorySet.EMPTY;
    const numbers: number[] = [];
    for (const item of text.split(',')) {
      const dot = item.indexOf('.');
      if (dot === -1) {
        numbers.push(parseCategory(item, text));
        continue;
      }
      const low = parseCategory(item.slice(0, dot), text);
      const high = parseCategory(item.slice(dot + 1), text);
      if (high < low) {
        throw new ContextError('category', `range ${item} runs backwards`, text);
      }
      for (let n = low; n <= high; n++) numbers.push(n);
    }
    return CategorySet.of(numbers);
  }

  get size(): number {
    return this.members.length;
  }

  get isEmpty(): boolean {
    return this.members.length === 0;
  }

  has(category: number): boolean {
    return binarySearch(this.members, category);
  }

  equals(other: CategorySet): boolean {
    if (other.members.length !== this.members.length) return false;
    return this.members.every((n, i) => n === other.members[i]);
  }

  /** True when every category of this set is in `other` (MCS dominance on categories). */
  isSubsetOf(other: CategorySet): boolean {
    return this.members.every((n) => other.has(n));
  }

  /**
   * The canonical text form, used as the join key in the store: runs of three or more
   * become `cA.cB` (as in `c0.c1023`), shorter runs stay comma-separated, so a libvirt
   * pair prints exactly as libvirt writes it (`c392,c662`, and `c5,c6` rather than the
   * kernel's `c5.c6`).
   */
  toString(): string {
    const parts: string[] = [];
    const m = this.members;
    let i = 0;
    while (i < m.length) {
      let j = i;
      while (j + 1 < m.length && m[j + 1] === (m[j] as number) + 1) j++;
      if (j - i >= 2) {
        parts.push(`c${m[i]}.c${m[j]}`);
      } else {
        for (let k = i; k <= j; k++) parts.push(`c${m[k]}`);
      }
      i = j + 1;
    }
    return parts.join(',');
  }
}

function parseCategory(item: string, whole: string): number {
  if (item.length < 2 || item.charCodeAt(0) !== 0x63 /* c */) {
    throw new ContextError('category', `"${item}" is not a category (expected c0..c${MAX_CATEGORY})`, whole);
  }
  const digits = item.slice(1);
  if (!/^\d{1,4}$/.test(digits)) {
    throw new ContextError('category', `"${item}" is not a category (expected c0..c${MAX_CATEGORY})`, whole);
  }
  const n = Number(digits);
  if (n > MAX_CATEGORY) {
    throw new ContextError('category', `category ${item} is outside c0..c${MAX_CATEGORY}`, whole);
  }
  return n;
}

function binarySearch(sorted: readonly number[], value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (v === value) return true;
    if (v < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
