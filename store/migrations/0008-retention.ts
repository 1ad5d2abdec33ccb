/**
 * Retention: holds that keep a VM's records out of pruning, the per-host horizon below
 * which pruned events are not stored again, and a log of what each prune removed (reports
 * say when part of their window was pruned).
 *
 * No index by event is needed: a denial has its event's time, so the events of a time
 * window are kept exactly when a denial of that window is (under a hold).
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE hold (
      id          INTEGER PRIMARY KEY,
      vm_uuid     TEXT NOT NULL,
      vm_name     TEXT NOT NULL,
      reason      TEXT NOT NULL,
      since       INTEGER,
      until       INTEGER,
      created_at  INTEGER NOT NULL,
      released_at INTEGER,
      CHECK (since IS NULL OR until IS NULL OR until >= since)
    );
    CREATE INDEX hold_active ON hold (vm_uuid) WHERE released_at IS NULL;

    CREATE TABLE prune_horizon (
      host_id INTEGER PRIMARY KEY REFERENCES host(id),
      horizon INTEGER NOT NULL
    );

    CREATE TABLE prune_run (
      id          INTEGER PRIMARY KEY,
      at          INTEGER NOT NULL,
      -- records older than this were removed (except those under a hold)
      before      INTEGER NOT NULL,
      denials     INTEGER NOT NULL,
      events      INTEGER NOT NULL,
      allocations INTEGER NOT NULL,
      reason      TEXT NOT NULL
    );
  `);
}
