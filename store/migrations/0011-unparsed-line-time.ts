/**
 * Lines the collector could not read carry no event time; pruning removes them by when
 * they were stored. Lines stored before this column existed have none and count as old.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec('ALTER TABLE unparsed_line ADD COLUMN stored_at INTEGER');
}
