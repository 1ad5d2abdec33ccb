/**
 * Contexts a denial row does not need to spell out. Nearly every sVirt denial names
 * `system_u:system_r:<type>:s0:<categories>` as its source and
 * `system_u:object_r:<type>:s0[:<categories>]` as its target, and the row already holds
 * the type and the categories: such a context is stored as NULL and rebuilt when read,
 * which saves about 70 bytes per denial (bench/README.md, store ÷ log). Any other context
 * (another user or role, a range, categories written another way) is stored as it is.
 */

type Side = 'source' | 'target';

/** The context a row with this type and categories implies (null without a type). */
export function impliedContext(side: Side, type: string | null, categories: string | null): string | null {
  if (type === null) return null;
  return `system_u:${side === 'source' ? 'system_r' : 'object_r'}:${type}:s0${categories ? `:${categories}` : ''}`;
}

/** What to store for `context`: null when the row's type and categories imply it exactly. */
export function contextToStore(side: Side, context: string | null, type: string | null, categories: string | null) {
  return context !== null && context === impliedContext(side, type, categories) ? null : context;
}
