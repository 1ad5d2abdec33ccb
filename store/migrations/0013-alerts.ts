/**
 * The alert outbox (alerts/, docs/alerts.md). An `alert` row is one group's alert: it
 * collects denials until it is due, then one `alert_delivery` row per receiver tracks its
 * sending (attempts, next attempt, last error) until it is sent or given up. Both are
 * written in the transaction that reads the denials they cover, with the reader's
 * position in `feed_position`, so a restart neither loses nor repeats one. The syslog
 * forwarder keeps its position there too.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE TABLE feed_position (
      name      TEXT PRIMARY KEY,
      denial_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE alert (
      id              INTEGER PRIMARY KEY,
      key             TEXT NOT NULL UNIQUE,
      group_key       TEXT NOT NULL,
      rule            TEXT NOT NULL,
      kind            TEXT NOT NULL,
      host            TEXT NOT NULL,
      vm_uuid         TEXT,
      vm_name         TEXT,
      source_label    TEXT,
      target_vms      TEXT NOT NULL DEFAULT '[]',
      threshold       INTEGER NOT NULL,
      count           INTEGER NOT NULL,
      first_time      INTEGER NOT NULL,
      last_time       INTEGER NOT NULL,
      first_denial_id INTEGER NOT NULL,
      last_denial_id  INTEGER NOT NULL,
      opened_at       INTEGER NOT NULL,
      not_before      INTEGER NOT NULL,
      due_at          INTEGER,
      state           TEXT NOT NULL CHECK (state IN ('collecting', 'due'))
    );
    CREATE INDEX alert_by_group ON alert (group_key, id);
    CREATE INDEX alert_collecting ON alert (state) WHERE state = 'collecting';
    CREATE TABLE alert_delivery (
      alert_id        INTEGER NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
      receiver        TEXT NOT NULL,
      state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
      attempts        INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL,
      sent_at         INTEGER,
      last_error      TEXT,
      PRIMARY KEY (alert_id, receiver)
    ) WITHOUT ROWID;
    CREATE INDEX alert_delivery_pending ON alert_delivery (receiver, next_attempt_at) WHERE state = 'pending';
  `);
}
