/**
 * When a path was first followed. Rotated files changed since then were written while we
 * followed, even if the follower never got to open them (auditd wrote and rotated before
 * its first look, or it was restarted before storing anything): they are read at the next
 * start instead of being taken for history from before we were installed.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE followed_path (
      path  TEXT PRIMARY KEY,
      since INTEGER NOT NULL
    );
  `);
}
