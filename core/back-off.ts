/** Retry delays that double from a first delay up to a most (the shipper, syslog, alert receivers). */

/** The delay before retry number `attempt` (1-based). */
export function doublingDelay(attempt: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(attempt, 1) - 1, 30));
}
