/**
 * A copy of a string that does not share memory with the string it was cut from.
 *
 * V8 represents `s.slice(…)` of a long string as a view into it, so a field value cut
 * from a record line keeps the whole 1 MiB chunk the line was decoded from alive. Values
 * that outlive the line (cache keys, cached contexts) are detached first: a cache of
 * 4,096 contexts must cost kilobytes, not gigabytes.
 */
export function detached(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
