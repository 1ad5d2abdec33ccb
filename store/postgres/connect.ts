/**
 * Connecting to the fleet's PostgreSQL. A `--db` or `--to` that starts with
 * `postgres://` or `postgresql://` names it (libpq's URL form; a socket directory goes in
 * `?host=/var/run/postgresql`). Errors say which server and what to do, never the password.
 */

import { userInfo } from 'node:os';
import './pg-runtime.js';
import pg from 'pg';
import { SvirtAuditError } from '../../core/errors.js';
import { migrateFleet } from './migrate.js';
import { redactedUrl } from './url.js';

export type FleetPool = pg.Pool;
export type FleetClient = pg.PoolClient;

export { isPostgresUrl, redactedUrl } from './url.js';

/** libpq logs in as the OS user when the URL names none (`postgres:///db?host=…`); so do we. */
function withUser(url: string): string {
  const m = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m || (m[2] as string).includes('@') || process.env.PGUSER) return url;
  return `${m[1]}${encodeURIComponent(userInfo().username)}@${m[2]}${m[3]}`;
}

// int8 as numbers: ids and milliseconds stay far below 2^53.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface OpenFleetOptions {
  /** Create or upgrade the schema (the administrator's `fleet init`); otherwise it must be current. */
  migrate?: boolean;
  max?: number;
  /** How long a connection attempt may take (ms). */
  connectTimeoutMs?: number;
}

/** A pool on the fleet database; the schema is checked (or migrated) before it is returned. */
export async function openFleet(url: string, options: OpenFleetOptions = {}): Promise<FleetPool> {
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({
      connectionString: withUser(url),
      max: options.max ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      application_name: 'svirt-audit',
      types: TYPES,
    });
  } catch (error) {
    throw new SvirtAuditError('BAD_INPUT', `cannot read ${redactedUrl(url)}: ${(error as Error).message}`);
  }
  // An idle client that loses its server (a restart) must not crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migrateFleet(client, { apply: options.migrate === true, url: redactedUrl(url) });
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw fleetError(error, url);
  }
  return pool;
}

/** A PostgreSQL error as a domain error: which server, and what to do. */
export function fleetError(error: unknown, url: string): Error {
  if (error instanceof SvirtAuditError) return error;
  const e = error as Error & { code?: string };
  const where = redactedUrl(url);
  if (e.code === '42501')
    return new SvirtAuditError(
      'FLEET_REFUSED',
      `${where} refused: ${e.message}`,
      "a host's role writes only its own host's rows; the fleet administrator adds hosts with: svirt-audit fleet add-host NAME --role ROLE",
    );
  if (
    e.code === '3D000' ||
    e.code === '28P01' ||
    e.code === '28000' ||
    e.code === 'ECONNREFUSED' ||
    e.code === 'ENOENT'
  )
    return new SvirtAuditError(
      'DB_OPEN',
      `cannot connect to ${where}: ${e.message}`,
      'check that PostgreSQL runs, the database exists, and the role may log in (pg_hba.conf)',
    );
  return new SvirtAuditError('DB_OPEN', `${where}: ${e.message}`);
}
