/**
 * Denials kept as shapes and occurrences (store/denial-shape.ts): denial_shape holds what
 * a denial loop repeats, once; denial_row one narrow row per denial; the view `denial`
 * joins them into the columns the table had, so readers are unchanged. On the 1,000,000-
 * denial bench store the denial table and its indexes went from 220 MB to 118 MB.
 *
 * Existing denials are copied with their ids (live streams resume by id).
 */

import type Database from 'better-sqlite3';
import { shapeKey } from '../denial-shape.js';

const SHAPE = `model, record_type, perms, tclass, scontext, stype, scomm, sexe, tcontext, ttype, tpath, tname, tdev,
  aa_child, aa_operation, aa_requested, aa_denied, aa_fsuid, aa_ouid, aa_info, aa_error,
  syscall, syscall_success, syscall_exit, auid, uid, proctitle`;
const SHAPE_COUNT = SHAPE.split(',').length;

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE denial_shape (
      id              INTEGER PRIMARY KEY,
      key             BLOB NOT NULL UNIQUE,
      -- the newest denial using this shape, at most a second behind (pruning's test of "only old denials use it")
      last_time       INTEGER NOT NULL,
      model           TEXT NOT NULL CHECK (model IN ('selinux', 'apparmor')),
      record_type     TEXT NOT NULL,
      perms           TEXT NOT NULL,
      tclass          TEXT,
      scontext        TEXT,
      stype           TEXT,
      scomm           TEXT,
      sexe            TEXT,
      tcontext        TEXT,
      ttype           TEXT,
      tpath           TEXT,
      tname           TEXT,
      tdev            TEXT,
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
    CREATE TABLE denial_row (
      id          INTEGER PRIMARY KEY,
      event_id    INTEGER NOT NULL REFERENCES event(id),
      host_id     INTEGER NOT NULL REFERENCES host(id),
      time        INTEGER NOT NULL,
      -- the event's serial, kept here too so listing denials never touches event rows
      serial      INTEGER NOT NULL,
      granted     INTEGER NOT NULL,
      permissive  INTEGER NOT NULL,
      shape_id    INTEGER NOT NULL REFERENCES denial_shape(id),
      scategories TEXT,
      tcategories TEXT,
      aa_profile  TEXT,
      spid        INTEGER,
      tinode      INTEGER
    );
  `);
  const shapes = new Map<string, number>();
  const insertShape = db.prepare(
    `INSERT INTO denial_shape (key, last_time, ${SHAPE}) VALUES (?, ?, ${Array(SHAPE_COUNT).fill('?').join(', ')})`,
  );
  const raiseLastTime = db.prepare('UPDATE denial_shape SET last_time = max(last_time, ?) WHERE id = ?');
  const insertRow = db.prepare(
    `INSERT INTO denial_row (id, event_id, host_id, time, serial, granted, permissive,
       scategories, tcategories, aa_profile, spid, tinode, shape_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // In pages: better-sqlite3 cannot write on a connection while it iterates a query.
  const page = db
    .prepare(
      `SELECT id, event_id, host_id, time, serial, granted, permissive, scategories, tcategories, aa_profile, spid, tinode,
         ${SHAPE} FROM denial WHERE id > ? ORDER BY id LIMIT 10000`,
    )
    .raw(true);
  for (let after = 0; ;) {
    const rows = page.all(after) as (string | number | null)[][];
    if (rows.length === 0) break;
    for (const row of rows) {
      const time = row[3] as number;
      const values = row.slice(12);
      const encoded = JSON.stringify(values);
      let shapeId = shapes.get(encoded);
      if (shapeId === undefined) {
        shapeId = Number(insertShape.run(shapeKey(encoded), time, ...values).lastInsertRowid);
        shapes.set(encoded, shapeId);
      } else raiseLastTime.run(time, shapeId);
      insertRow.run(...row.slice(0, 12), shapeId);
      after = row[0] as number;
    }
  }
  db.exec(`
    DROP TABLE denial;
    CREATE VIEW denial AS
      SELECT r.id, r.event_id, r.host_id, r.time, r.serial, s.model, s.record_type, r.granted, r.permissive,
        s.perms, s.tclass, s.scontext, s.stype, r.scategories, r.spid, s.scomm, s.sexe,
        s.tcontext, s.ttype, r.tcategories, s.tpath, s.tname, s.tdev, r.tinode,
        r.aa_profile, s.aa_child, s.aa_operation, s.aa_requested, s.aa_denied, s.aa_fsuid, s.aa_ouid, s.aa_info, s.aa_error,
        s.syscall, s.syscall_success, s.syscall_exit, s.auid, s.uid, s.proctitle, r.shape_id
      FROM denial_row r JOIN denial_shape s ON s.id = r.shape_id;
    -- a VM's denials by label and time, with what its summary counts (an index-only scan)
    CREATE INDEX denial_by_source ON denial_row (host_id, scategories, time, granted, tcategories, permissive, shape_id);
    CREATE INDEX denial_by_target ON denial_row (host_id, tcategories, time);
    CREATE INDEX denial_by_profile ON denial_row (aa_profile, time) WHERE aa_profile IS NOT NULL;
    CREATE INDEX denial_by_time ON denial_row (time);
    -- pruning's search for shapes only old denials used
    CREATE INDEX denial_shape_by_last_time ON denial_shape (last_time);
  `);
}
