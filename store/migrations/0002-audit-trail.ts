/**
 * The kernel side: events (raw records verbatim), denials (category sets in their own
 * columns so the attribution join can use an index), lines we could not read, MAC_STATUS
 * history, and per-source checkpoints.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    -- One row per audit source (a file identified by device, inode and a hash of its first
    -- bytes). "offset" is the checkpoint: every record before it is stored. It is written in
    -- the same transaction as the rows it covers.
    CREATE TABLE source (
      id         INTEGER PRIMARY KEY,
      path       TEXT NOT NULL,
      device     INTEGER NOT NULL,
      inode      INTEGER NOT NULL,
      head_bytes INTEGER NOT NULL,
      head_hash  TEXT NOT NULL,
      offset     INTEGER NOT NULL DEFAULT 0,
      updated_at INTEGER NOT NULL,
      UNIQUE (device, inode, head_hash)
    );

    CREATE TABLE event (
      id            INTEGER PRIMARY KEY,
      host_id       INTEGER NOT NULL REFERENCES host(id),
      time          INTEGER NOT NULL,
      serial        INTEGER NOT NULL,
      types         TEXT NOT NULL,
      raw           TEXT NOT NULL,
      source_id     INTEGER REFERENCES source(id),
      source_offset INTEGER,
      UNIQUE (host_id, time, serial)
    );

    CREATE TABLE denial (
      id              INTEGER PRIMARY KEY,
      event_id        INTEGER NOT NULL REFERENCES event(id),
      host_id         INTEGER NOT NULL REFERENCES host(id),
      time            INTEGER NOT NULL,
      -- the event's serial, kept here too so listing denials never touches event rows
      serial          INTEGER NOT NULL,
      model           TEXT NOT NULL CHECK (model IN ('selinux', 'apparmor')),
      record_type     TEXT NOT NULL,
      granted         INTEGER NOT NULL,
      permissive      INTEGER NOT NULL,
      perms           TEXT NOT NULL,
      tclass          TEXT,
      scontext        TEXT,
      stype           TEXT,
      scategories     TEXT,
      spid            INTEGER,
      scomm           TEXT,
      sexe            TEXT,
      tcontext        TEXT,
      ttype           TEXT,
      tcategories     TEXT,
      tpath           TEXT,
      tname           TEXT,
      tdev            TEXT,
      tinode          INTEGER,
      aa_profile      TEXT,
      aa_child        TEXT,
      aa_operation    TEXT,
      aa_requested    TEXT,
      aa_denied       TEXT,
      aa_fsuid        INTEGER,
      aa_ouid         INTEGER,
      aa_info         TEXT,
      aa_error        TEXT,
      syscall         INTEGER,
      syscall_success INTEGER,
      syscall_exit    INTEGER,
      auid            INTEGER,
      uid             INTEGER,
      proctitle       TEXT
    );
    -- Attribution: source and target category sets on a host at a time; AppArmor profiles.
    -- The source index also covers what a VM summary groups by, so summarizing a VM's
    -- allocations reads only this index, in order (bench/query).
    CREATE INDEX denial_by_source ON denial
      (host_id, scategories, time, granted, tcategories, perms, tclass, ttype, permissive, tpath, tname);
    CREATE INDEX denial_by_target ON denial (host_id, tcategories, time);
    CREATE INDEX denial_by_profile ON denial (aa_profile, time);
    CREATE INDEX denial_by_time ON denial (time);
    CREATE INDEX denial_by_event ON denial (event_id);

    CREATE TABLE unparsed_line (
      id        INTEGER PRIMARY KEY,
      source_id INTEGER REFERENCES source(id),
      offset    INTEGER,
      reason    TEXT NOT NULL,
      detail    TEXT NOT NULL,
      line      TEXT NOT NULL,
      UNIQUE (source_id, offset)
    );

    CREATE TABLE mac_status (
      host_id   INTEGER NOT NULL REFERENCES host(id),
      time      INTEGER NOT NULL,
      enforcing INTEGER,
      event_id  INTEGER NOT NULL REFERENCES event(id),
      PRIMARY KEY (host_id, time, event_id)
    );
  `);
}
