/**
 * A counter bumped by every change to allocations (from any process: hook, CLI, API,
 * collector), so caches of attributed answers know when attribution may have changed.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE allocation_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO allocation_generation (id, n) VALUES (1, 0);
    CREATE TRIGGER allocation_generation_insert AFTER INSERT ON allocation
      BEGIN UPDATE allocation_generation SET n = n + 1 WHERE id = 1; END;
    CREATE TRIGGER allocation_generation_update AFTER UPDATE ON allocation
      BEGIN UPDATE allocation_generation SET n = n + 1 WHERE id = 1; END;
    CREATE TRIGGER allocation_generation_delete AFTER DELETE ON allocation
      BEGIN UPDATE allocation_generation SET n = n + 1 WHERE id = 1; END;
  `);
}
