/** Hosts: every row carries the host it came from (`node=` of forwarded records, else ours). */

import type { Store } from './store.js';

/** The id of host `name`, inserting it on first sight. */
export function hostId(store: Store, name: string): number {
  store.statement('INSERT INTO host (name) VALUES (?) ON CONFLICT (name) DO NOTHING').run(name);
  const row = store.statement('SELECT id FROM host WHERE name = ?').get(name) as { id: number };
  return row.id;
}

/** The id of host `name`, or undefined when it was never seen (read paths must not insert). */
export function findHostId(store: Store, name: string): number | undefined {
  const row = store.statement('SELECT id FROM host WHERE name = ?').get(name) as { id: number } | undefined;
  return row?.id;
}
