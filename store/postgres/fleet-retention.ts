/**
 * Fleet retention drops whole monthly partitions of events and denials (no row-by-row
 * DELETE, no bloat to vacuum): a month goes once all of it is older than the cutoff.
 * Allocations and relabels are small and stay (the label history makes old reports readable).
 */

import type { FleetPool } from './connect.js';

/** Drop the partitions that end at or before `cutoff` (ms); returns their names. */
export async function dropPartitionsBefore(pool: FleetPool, cutoff: number): Promise<string[]> {
  const r = await pool.query<{ name: string; upper: string }>(
    `SELECT c.relname AS name, to_char(to_date(substring(c.relname from '_p(\\d{4}_\\d{2})$'), 'YYYY_MM') + interval '1 month', 'YYYY-MM-DD') AS upper
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent IN ('event'::regclass, 'denial'::regclass) AND c.relname ~ '_p\\d{4}_\\d{2}$'`,
  );
  const dropped: string[] = [];
  for (const p of r.rows.sort((a, b) => a.name.localeCompare(b.name))) {
    if (Date.parse(`${p.upper}T00:00:00Z`) > cutoff) continue;
    await pool.query(`DROP TABLE ${p.name.replace(/[^a-z0-9_]/g, '')}`);
    dropped.push(p.name);
  }
  return dropped;
}
