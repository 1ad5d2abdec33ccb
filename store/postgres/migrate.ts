/**
 * The fleet schema's numbered migrations, as the SQLite file has its own: each applied in
 * one transaction under an advisory lock (two administrators, or two central servers,
 * starting at once apply each exactly once), recorded in schema_migration.
 */

import { SvirtAuditError } from '../../core/errors.js';
import type pg from 'pg';
import { sql as fleet } from './migrations/0001-fleet.js';
import { sql as streamAndPrune } from './migrations/0002-stream-and-prune.js';
import { sql as prunedBefore } from './migrations/0003-pruned-before.js';

const MIGRATIONS: readonly { name: string; sql: string }[] = [
  { name: '0001-fleet', sql: fleet },
  { name: '0002-stream-and-prune', sql: streamAndPrune },
  { name: '0003-pruned-before', sql: prunedBefore },
];
export const FLEET_SCHEMA_VERSION = MIGRATIONS.length;

async function currentVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass('schema_migration')::text AS t");
  if (exists.rows[0]?.t === null || exists.rows[0]?.t === undefined) return 0;
  const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migration');
  return r.rows[0]?.v ?? 0;
}

/** Check the schema, or with `apply` bring it up to FLEET_SCHEMA_VERSION. */
export async function migrateFleet(client: pg.ClientBase, options: { apply: boolean; url: string }): Promise<void> {
  const version = await currentVersion(client);
  if (version > FLEET_SCHEMA_VERSION)
    throw new SvirtAuditError(
      'DB_TOO_NEW',
      `${options.url} has fleet schema version ${version}, but this svirt-audit knows only up to ${FLEET_SCHEMA_VERSION}`,
      'upgrade svirt-audit on this machine',
    );
  if (version === FLEET_SCHEMA_VERSION) return;
  if (!options.apply)
    throw new SvirtAuditError(
      'DB_OPEN',
      `${options.url} has fleet schema version ${version}; this svirt-audit needs ${FLEET_SCHEMA_VERSION}`,
      `the fleet administrator runs once: svirt-audit fleet init --db ${options.url}`,
    );
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('svirt-audit fleet schema'))");
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migration (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    for (let next = (await currentVersion(client)) + 1; next <= FLEET_SCHEMA_VERSION; next++) {
      const m = MIGRATIONS[next - 1] as { name: string; sql: string };
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migration (version, name) VALUES ($1, $2)', [next, m.name]);
    }
    await client.query('GRANT SELECT ON schema_migration TO svirt_audit_host, svirt_audit_reader');
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
