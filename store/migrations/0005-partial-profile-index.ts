/**
 * Only AppArmor denials have a profile: index those alone. A full index took an entry for
 * every SELinux denial too (NULL profile), one more B-tree insert per denial stored
 * (bench/ingest). Queries ask `aa_profile = ?`, which implies NOT NULL, so SQLite uses
 * the partial index for them (test/store/denial-query.test.ts checks the plans).
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    DROP INDEX denial_by_profile;
    CREATE INDEX denial_by_profile ON denial (aa_profile, time) WHERE aa_profile IS NOT NULL;
  `);
}
