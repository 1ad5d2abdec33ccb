/**
 * Fewer index entries per denial stored (bench/ingest: each is a B-tree insert):
 *
 * - Only AppArmor denials have a profile: index those alone. The full index took an entry
 *   for every SELinux denial too (NULL profile). Queries ask `aa_profile = ?`, which
 *   implies NOT NULL, so SQLite uses the partial index for them
 *   (test/store/denial-query.test.ts checks the plan).
 * - No query looks denials up by event any more (an event's denials are found by its
 *   host, time and serial through denial_by_time), so denial_by_event goes. Nothing
 *   deletes events; a retention feature that does will want it back.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    DROP INDEX denial_by_profile;
    CREATE INDEX denial_by_profile ON denial (aa_profile, time) WHERE aa_profile IS NOT NULL;
    DROP INDEX denial_by_event;
  `);
}
