/**
 * Which category set a new guest gets. Pure: the caller passes the sets already held and
 * a random source, and applies the answer inside one transaction.
 *
 * - `pair` mirrors libvirt's virSecuritySELinuxMCSFind: two different categories from
 *   the range, printed low first (`c392,c662`). A single category is never handed out
 *   there, because a file labelled `cN` would be readable by every pair containing cN.
 * - `single` mirrors OpenXT: one category `cN`, N >= 1; c0 is kept for the disks of
 *   stopped VMs.
 */

import { CategorySet } from '../core/category-set.js';
import { SvirtAuditError } from '../core/errors.js';

export type CategoryStyle = 'pair' | 'single';

/** Random integer in [0, bound). */
export type RandomInt = (bound: number) => number;

/** libvirt's default range when its own context names none. */
export const DEFAULT_RANGE = CategorySet.parse('c0.c1023');

// Random draws before falling back to listing every free candidate: with 523,776 pairs
// in c0.c1023 a draw almost always succeeds; the fallback makes exhaustion exact.
const RANDOM_TRIES = 32;

/**
 * Pick a category set from `range` that is not in `held` (canonical strings).
 * Throws RANGE_EXHAUSTED when every candidate is held, BAD_INPUT when the range is too small.
 */
export function chooseCategorySet(
  range: CategorySet,
  held: ReadonlySet<string>,
  style: CategoryStyle,
  random: RandomInt,
): CategorySet {
  const members = style === 'single' ? range.members.filter((c) => c !== 0) : range.members;
  const needed = style === 'single' ? 1 : 2;
  if (members.length < needed) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `range ${range.toString() || '(empty)'} has too few categories for ${style === 'single' ? 'a single category (c0 is reserved)' : 'a pair'}`,
      'give --range at least two categories, e.g. c0.c1023',
    );
  }
  const candidate = (i: number, j: number): CategorySet =>
    style === 'single'
      ? CategorySet.of([members[i] as number])
      : CategorySet.of([members[i] as number, members[j] as number]);

  for (let t = 0; t < RANDOM_TRIES; t++) {
    const i = random(members.length);
    const j = style === 'single' ? i : random(members.length);
    if (i === j && style === 'pair') continue;
    const set = candidate(i, j);
    if (!held.has(set.toString())) return set;
  }

  const free: CategorySet[] = [];
  if (style === 'single') {
    for (let i = 0; i < members.length; i++) {
      const set = candidate(i, i);
      if (!held.has(set.toString())) free.push(set);
    }
  } else {
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) {
        const set = candidate(i, j);
        if (!held.has(set.toString())) free.push(set);
      }
    }
  }
  if (free.length === 0) {
    const total = style === 'single' ? members.length : (members.length * (members.length - 1)) / 2;
    throw new SvirtAuditError(
      'RANGE_EXHAUSTED',
      `range ${range.toString()} is exhausted: all ${total} ${style === 'single' ? 'categories' : 'category pairs'} are held by running VMs`,
      'release allocations of VMs that have stopped (svirt-audit allocations --open), or widen --range',
    );
  }
  return free[random(free.length)] as CategorySet;
}
