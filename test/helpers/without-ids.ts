/** An answer with every row number replaced: each backend numbers its own rows. */

const ROW_NUMBERS = ['id', 'eventId', 'exampleId', 'allocationId'];

export function withoutIds(value: unknown, also: readonly string[] = []): unknown {
  const keys = new Set([...ROW_NUMBERS, ...also]);
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, keys.has(k) ? '#' : strip(x)]));
    return v;
  };
  return strip(value);
}
