/**
 * Fleet retention drops whole monthly partitions of events and denials (no row-by-row
 * DELETE, no bloat to vacuum): a month goes once all of it is older than the cutoff.
 * Allocations that ended before the label cutoff go with their relabels and definition
 * disks (hosts keep 400 days of them by default, and so does the fleet); the label history
 * stays longer than the denials, so a denial still stored keeps its owner. Each prune bumps
 * the prune generation, which the central server's answer cache compares.
 */

import type { FleetPool } from './connect.js';

export interface FleetPruneResult {
  /** The partitions dropped. */
  dropped: string[];
  /** Allocations removed (ended before the label cutoff), with their relabels and disks. */
  allocations: number;
  relabels: number;
}

/** Drop the partitions that end at or before `cutoff` (ms), and allocations ended before `labelCutoff`. */
export async function pruneFleet(pool: FleetPool, cutoff: number, labelCutoff: number): Promise<FleetPruneResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const r = await client.query<{ name: string; upper: string }>(
      `SELECT c.relname AS name, to_char(to_date(substring(c.relname from '_p(\\d{4}_\\d{2})$'), 'YYYY_MM') + interval '1 month', 'YYYY-MM-DD') AS upper
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent IN ('event'::regclass, 'denial'::regclass) AND c.relname ~ '_p\\d{4}_\\d{2}$'`,
    );
    const dropped: string[] = [];
    let prunedBefore: number | null = null;
    for (const p of r.rows.sort((a, b) => a.name.localeCompare(b.name))) {
      const upper = Date.parse(`${p.upper}T00:00:00Z`);
      if (upper > cutoff) continue;
      await client.query(`DROP TABLE ${p.name.replace(/[^a-z0-9_]/g, '')}`);
      dropped.push(p.name);
      prunedBefore = Math.max(prunedBefore ?? 0, upper);
    }
    const old = `SELECT host, local_id FROM allocation WHERE ended_at < fleet_time($1)`;
    const relabels = await client.query(
      `DELETE FROM relabel r USING (${old}) a WHERE r.host = a.host AND r.allocation_local_id = a.local_id`,
      [labelCutoff],
    );
    await client.query(
      `DELETE FROM allocation_disk d USING (${old}) a WHERE d.host = a.host AND d.allocation_local_id = a.local_id`,
      [labelCutoff],
    );
    const allocations = await client.query('DELETE FROM allocation WHERE ended_at < fleet_time($1)', [labelCutoff]);
    await client.query(
      `UPDATE fleet_prune SET generation = generation + 1,
         pruned_before = CASE WHEN $1::bigint IS NULL THEN pruned_before
                              ELSE greatest(pruned_before, fleet_time($1::bigint)) END`,
      [prunedBefore],
    );
    await client.query('COMMIT');
    return { dropped, allocations: allocations.rowCount ?? 0, relabels: relabels.rowCount ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
