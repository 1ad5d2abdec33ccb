/** Hosts, allocations (who held which label when), their disks, and relabel actions. */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE schema_migration (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    );

    CREATE TABLE host (
      id   INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE
    );

    CREATE TABLE allocation (
      id          INTEGER PRIMARY KEY,
      host_id     INTEGER NOT NULL REFERENCES host(id),
      vm_uuid     TEXT NOT NULL,
      vm_name     TEXT NOT NULL,
      model       TEXT NOT NULL CHECK (model IN ('selinux', 'apparmor', 'none')),
      label       TEXT,
      image_label TEXT,
      -- canonical CategorySet text ('' when the label has none): the attribution join key
      categories  TEXT NOT NULL DEFAULT '',
      pid         INTEGER,
      source      TEXT NOT NULL CHECK (source IN ('hook', 'launch', 'api', 'cli', 'audit')),
      started_at  INTEGER NOT NULL,
      ended_at    INTEGER,
      recorded_at INTEGER NOT NULL,
      CHECK (ended_at IS NULL OR ended_at >= started_at)
    );
    -- Backstop for the invariant the allocator keeps: one open holder per category set.
    CREATE UNIQUE INDEX allocation_open_categories
      ON allocation (host_id, categories) WHERE ended_at IS NULL AND categories <> '';
    -- One open allocation per VM per host.
    CREATE UNIQUE INDEX allocation_open_vm
      ON allocation (host_id, vm_uuid) WHERE ended_at IS NULL;
    -- The attribution join: host + category set + time.
    CREATE INDEX allocation_by_label ON allocation (host_id, categories, started_at);
    CREATE INDEX allocation_by_vm ON allocation (vm_uuid, started_at);
    CREATE INDEX allocation_by_name ON allocation (vm_name);

    -- What the VM definition says should be labelled, and how (from the hook or launch).
    CREATE TABLE allocation_disk (
      allocation_id  INTEGER NOT NULL REFERENCES allocation(id) ON DELETE CASCADE,
      path           TEXT NOT NULL,
      mode           TEXT NOT NULL CHECK (mode IN ('rw', 'ro', 'shared')),
      expected_label TEXT,
      relabel        INTEGER NOT NULL CHECK (relabel IN (0, 1)),
      PRIMARY KEY (allocation_id, path)
    );
    CREATE INDEX allocation_disk_by_path ON allocation_disk (path);

    CREATE TABLE relabel (
      id            INTEGER PRIMARY KEY,
      allocation_id INTEGER NOT NULL REFERENCES allocation(id),
      path          TEXT NOT NULL,
      label_before  TEXT,
      label_after   TEXT,
      action        TEXT NOT NULL CHECK (action IN ('relabel', 'restore')),
      error         TEXT,  -- NULL when it worked
      at            INTEGER NOT NULL
    );
    CREATE INDEX relabel_by_allocation ON relabel (allocation_id, at);
    CREATE INDEX relabel_by_path ON relabel (path, at);
  `);
}
