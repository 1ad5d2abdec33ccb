/**
 * VM summaries `serve` computed, saved when it stops so the next start answers at once
 * instead of recomputing every VM's summary (api/vm-answer-cache.ts). A row is used
 * only by the same svirt-audit version, at the same allocation generation, and only
 * after the denials stored since `last_denial_id` have been checked against its labels.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE answer_cache (
      uuid           TEXT NOT NULL,
      key            TEXT NOT NULL,
      version        TEXT NOT NULL,
      generation     INTEGER NOT NULL,
      last_denial_id INTEGER NOT NULL,
      weight         INTEGER NOT NULL,
      answer         TEXT NOT NULL,
      PRIMARY KEY (uuid, key)
    );
  `);
}
