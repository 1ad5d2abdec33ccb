/**
 * Allocations change after they are written (a VM stops: `ended_at`; its pid is learned),
 * so shipping them to the fleet cannot follow their ids alone. Every insert and update is
 * numbered in `allocation_change`; the shipper sends the allocations changed after the
 * number it shipped last, as they are now. Few rows: one per VM start, stop and pid.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE allocation_change (
      seq           INTEGER PRIMARY KEY AUTOINCREMENT,
      allocation_id INTEGER NOT NULL
    );
    CREATE TRIGGER allocation_inserted AFTER INSERT ON allocation
      BEGIN INSERT INTO allocation_change (allocation_id) VALUES (NEW.id); END;
    CREATE TRIGGER allocation_updated AFTER UPDATE ON allocation
      BEGIN INSERT INTO allocation_change (allocation_id) VALUES (NEW.id); END;
    -- Its expected disks go with it (a hot-plugged disk is a change too).
    CREATE TRIGGER allocation_disk_added AFTER INSERT ON allocation_disk
      BEGIN INSERT INTO allocation_change (allocation_id) VALUES (NEW.allocation_id); END;
    CREATE TRIGGER allocation_disk_removed AFTER DELETE ON allocation_disk
      BEGIN INSERT INTO allocation_change (allocation_id) VALUES (OLD.allocation_id); END;
    -- Allocations from before this migration are changes the fleet has not seen either.
    INSERT INTO allocation_change (allocation_id) SELECT id FROM allocation ORDER BY id;
  `);
}
