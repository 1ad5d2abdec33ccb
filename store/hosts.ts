/** Hosts: every row carries the host it came from (`node=` of forwarded records, else ours). */

import type { Store } from './store.js';

/**
 * The id of host `name`, inserting it on first sight. Ids are remembered per connection
 * (one lookup per host rather than two statements per event on the ingest path); the
 * store forgets them when a transaction rolls back, which may have removed a new host.
 */
export function hostId(store: Store, name: string): number {
  const cached = store.hostIds.get(name);
  if (cached !== undefined) return cached;
  store.statement('INSERT INTO host (name) VALUES (?) ON CONFLICT (name) DO NOTHING').run(name);
  const row = store.statement('SELECT id FROM host WHERE name = ?').get(name) as { id: number };
  store.hostIds.set(name, row.id);
  return row.id;
}

/** The id of host `name`, or undefined when it was never seen (read paths must not insert). */
export function findHostId(store: Store, name: string): number | undefined {
  const row = store.statement('SELECT id FROM host WHERE name = ?').get(name) as { id: number } | undefined;
  return row?.id;
}

/** The names of every host the store holds records of. */
export function knownHosts(store: Store): string[] {
  return (store.statement('SELECT name FROM host ORDER BY name').all() as { name: string }[]).map((h) => h.name);
}

/** What the dashboard shows of a host: its newest record and the enforcing state the log last reported. */
export interface HostState {
  name: string;
  /** Audit time of its newest stored event (ms), null when none is left. */
  newestRecord: number | null;
  /** The last MAC_STATUS record's state: true enforcing, false permissive, null when none was logged. */
  enforcing: boolean | null;
  enforcingSince: number | null;
}

/** Every host with its newest record and its last logged enforcing state. */
export function hostStates(store: Store): HostState[] {
  const rows = store
    .statement(
      `SELECT h.name,
         (SELECT max(e.time) FROM event e WHERE e.host_id = h.id) AS newestRecord,
         m.enforcing, m.time AS enforcingSince
       FROM host h
       LEFT JOIN mac_status m ON m.rowid = (
         SELECT m2.rowid FROM mac_status m2 WHERE m2.host_id = h.id ORDER BY m2.time DESC LIMIT 1)
       ORDER BY h.name`,
    )
    .all() as { name: string; newestRecord: number | null; enforcing: number | null; enforcingSince: number | null }[];
  return rows.map((r) => ({ ...r, enforcing: r.enforcing === null ? null : r.enforcing === 1 }));
}
