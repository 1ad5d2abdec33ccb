/**
 * Raw records compressed in blocks: the records of a collector batch are stored as one
 * deflated block (about a tenth of their size), and each event points at its slice.
 * Events stored before keep their text in `raw`; a block-stored event has raw = ''.
 * `events` counts the events pointing at a block, so pruning can drop a block with its
 * last event without an index by block.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE raw_block (
      -- AUTOINCREMENT: an id is never reused, so a reader's cached block cannot turn into another
      id     INTEGER PRIMARY KEY AUTOINCREMENT,
      events INTEGER NOT NULL,
      data   BLOB NOT NULL
    );
    ALTER TABLE event ADD COLUMN raw_block INTEGER;
    ALTER TABLE event ADD COLUMN raw_at INTEGER;
    ALTER TABLE event ADD COLUMN raw_len INTEGER;
  `);
}
