/** The fleet's hosts and their roles: what the administrator's `fleet add-host` does. */

import { SvirtAuditError } from '../../core/errors.js';
import type { FleetClient, FleetPool } from './connect.js';

const NAME = /^[A-Za-z0-9._-]{1,253}$/;
const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;

function assertRoleName(role: string): void {
  if (!ROLE.test(role))
    throw new SvirtAuditError(
      'BAD_INPUT',
      `bad role name ${JSON.stringify(role)}`,
      'lower-case letters, digits and _, at most 63',
    );
}

/** `role` as a login role in `group`, created if missing, its password set when given. */
async function ensureLoginRole(client: FleetClient, role: string, group: string, password?: string): Promise<void> {
  const id = client.escapeIdentifier(role);
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  if (exists.rowCount === 0) await client.query(`CREATE ROLE ${id} LOGIN`);
  if (password !== undefined) await client.query(`ALTER ROLE ${id} PASSWORD ${client.escapeLiteral(password)}`);
  await client.query(`GRANT ${group} TO ${id}`);
}

/**
 * Make `role` the login role that ships for host `name`: created if missing (with
 * `password` when given; otherwise the administrator sets up its authentication, e.g.
 * a client certificate), made a member of svirt_audit_host, and named in fleet_host.
 */
export async function addFleetHost(pool: FleetPool, name: string, role: string, password?: string): Promise<void> {
  if (!NAME.test(name))
    throw new SvirtAuditError(
      'BAD_INPUT',
      `bad host name ${JSON.stringify(name)}`,
      'letters, digits, dots, dashes, underscores',
    );
  assertRoleName(role);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await ensureLoginRole(client, role, 'svirt_audit_host', password);
    const taken = await client.query<{ name: string }>('SELECT name FROM fleet_host WHERE role = $1 AND name <> $2', [
      role,
      name,
    ]);
    if (taken.rows[0])
      throw new SvirtAuditError(
        'BAD_INPUT',
        `role ${role} already ships for host ${taken.rows[0].name}`,
        'give each host its own role',
      );
    await client.query(
      'INSERT INTO fleet_host (name, role) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET role = $2',
      [name, role],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Let `role` read every host's rows (the central serve, the security team's read commands). */
export async function addFleetReader(pool: FleetPool, role: string, password?: string): Promise<void> {
  assertRoleName(role);
  const client = await pool.connect();
  try {
    await ensureLoginRole(client, role, 'svirt_audit_reader', password);
  } finally {
    client.release();
  }
}

/** The host the connected role ships for, or undefined when it is not a host's role. */
export async function currentFleetHost(pool: FleetPool): Promise<string | undefined> {
  const r = await pool.query<{ name: string | null }>('SELECT fleet_current_host() AS name');
  return r.rows[0]?.name ?? undefined;
}

export interface FleetHostRow {
  name: string;
  role: string;
  /** Audit time of the newest record shipped (ms), null before the first batch. */
  newestTime: number | null;
  shippedAt: number | null;
  /** The last MAC_STATUS it shipped: true enforcing, false permissive, null when none. */
  enforcing: boolean | null;
  enforcingSince: number | null;
}

/** The fleet's hosts with where their shipping stands. */
export async function listFleetHosts(pool: FleetPool): Promise<FleetHostRow[]> {
  const r = await pool.query<{
    name: string;
    role: string;
    newest_time: number | null;
    shipped_at: number | null;
    enforcing: number | null;
    enforcing_since: number | null;
  }>(
    `SELECT h.name, h.role, fleet_ms(p.newest_time) AS newest_time, fleet_ms(p.shipped_at) AS shipped_at,
       m.enforcing, fleet_ms(m.time) AS enforcing_since
     FROM fleet_host h LEFT JOIN ship_position p ON p.host = h.name
     LEFT JOIN LATERAL (SELECT time, enforcing FROM mac_status WHERE host = h.name ORDER BY time DESC LIMIT 1) m
       ON true
     ORDER BY h.name`,
  );
  return r.rows.map((h) => ({
    name: h.name,
    role: h.role,
    newestTime: h.newest_time,
    shippedAt: h.shipped_at,
    enforcing: h.enforcing === null ? null : h.enforcing === 1,
    enforcingSince: h.enforcing_since,
  }));
}

/**
 * Each host's shipping position as one number that grows with every batch it ships, and
 * the sum of every host's allocation changes: what the central server's answer cache
 * compares.
 */
export async function shipVersions(
  pool: FleetPool,
): Promise<{ hosts: Map<string, number>; allocations: number; pruned: number }> {
  const r = await pool.query<{ host: string; version: number; allocations: number; pruned: number }>(
    `SELECT host, relabel_id + event_id + denial_id + mac_status_id AS version, allocation_seq AS allocations,
       (SELECT generation FROM fleet_prune) AS pruned
     FROM ship_position`,
  );
  return {
    hosts: new Map(r.rows.map((p) => [p.host, p.version])),
    allocations: r.rows.reduce((n, p) => n + p.allocations, 0),
    pruned: r.rows[0]?.pruned ?? 0,
  };
}
