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
