/**
 * Numbered migrations, applied on open. Each runs in its own BEGIN IMMEDIATE transaction
 * that also bumps `PRAGMA user_version` and adds a row to `schema_migration`, so a crash
 * leaves the file at a whole version and two processes opening a fresh file at once
 * apply each migration exactly once.
 */

import { SvirtAuditError } from '../core/errors.js';
import { migrations } from './migrations/index.js';
import type { Store } from './store.js';

export const SCHEMA_VERSION = migrations.length;

/** Bring the file up to SCHEMA_VERSION. Throws DB_TOO_NEW for a file from a newer release. */
export function migrate(store: Store, target: number = SCHEMA_VERSION): void {
  // Fast path: one pragma read when the file is current (every hook call takes it).
  let version = readVersion(store);
  if (version === target) return;
  if (version > SCHEMA_VERSION) {
    throw new SvirtAuditError(
      'DB_TOO_NEW',
      `database ${store.path} has schema version ${version}, but this svirt-audit knows only up to ${SCHEMA_VERSION}`,
      'upgrade svirt-audit, or point --db at another file',
    );
  }
  if (store.db.readonly) {
    throw new SvirtAuditError(
      'DB_OPEN',
      `database ${store.path} has schema version ${version} and needs upgrading to ${target}`,
      'run any write command once (e.g. svirt-audit vms) to upgrade it',
    );
  }
  for (let next = version + 1; next <= target; next++) {
    const migration = migrations[next - 1];
    if (!migration) throw new Error(`migration ${next} is missing`);
    store.immediate(() => {
      // Another process may have applied it while we waited for the lock.
      version = readVersion(store);
      if (version >= next) return;
      migration.up(store.db);
      store.db
        .prepare('INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)')
        .run(next, migration.name, Date.now());
      store.db.pragma(`user_version = ${next}`);
    });
  }
}

export function readVersion(store: Store): number {
  return store.db.pragma('user_version', { simple: true }) as number;
}
