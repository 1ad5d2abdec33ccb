/**
 * Writing the kernel side: sources and their checkpoints, events with their raw records,
 * denials, unparsed lines and MAC_STATUS history. The collector calls these inside one
 * transaction per batch, checkpoint included, so a crash leaves rows and checkpoint in step.
 */

import { allocationLabelMatch } from './label-match.js';
import { hostId } from './hosts.js';
import { eventRawText, RAW_COLUMNS, type RawRef, releaseRawBlocks } from './raw-blocks.js';
import type { Store } from './store.js';

export interface SourceIdentity {
  path: string;
  device: number;
  inode: number;
  /** How many leading bytes `headHash` covers. */
  headBytes: number;
  headHash: string;
}

export interface SourceRow extends SourceIdentity {
  id: number;
  offset: number;
}

/** The source with this identity (device, inode, hash of its first bytes), created at offset 0 if new. */
export function findOrCreateSource(store: Store, identity: SourceIdentity): SourceRow {
  store
    .statement(
      `INSERT INTO source (path, device, inode, head_bytes, head_hash, offset, updated_at)
       VALUES (@path, @device, @inode, @headBytes, @headHash, 0, @now)
       ON CONFLICT (device, inode, head_hash) DO UPDATE SET path = excluded.path`,
    )
    .run({ ...identity, now: Date.now() });
  const row = store
    .statement(
      `SELECT id, path, device, inode, head_bytes AS headBytes, head_hash AS headHash, offset
       FROM source WHERE device = ? AND inode = ? AND head_hash = ?`,
    )
    .get(identity.device, identity.inode, identity.headHash) as SourceRow;
  return row;
}

/** Sources known for a path's device and inode (a growing file's hash prefix is checked by the caller). */
export function sourcesByInode(store: Store, device: number, inode: number): SourceRow[] {
  return store
    .statement(
      `SELECT id, path, device, inode, head_bytes AS headBytes, head_hash AS headHash, offset
       FROM source WHERE device = ? AND inode = ? ORDER BY updated_at DESC`,
    )
    .all(device, inode) as SourceRow[];
}

/** When any source of this path was last checkpointed (ms), or undefined if never. */
export function lastCheckpointTime(store: Store, path: string): number | undefined {
  const row = store.statement('SELECT max(updated_at) AS t FROM source WHERE path = ?').get(path) as {
    t: number | null;
  };
  return row.t ?? undefined;
}

/** When `path` was first followed (recorded now if never), in ms. */
export function followedSince(store: Store, path: string, now: number = Date.now()): number {
  store.statement('INSERT OR IGNORE INTO followed_path (path, since) VALUES (?, ?)').run(path, now);
  return (store.statement('SELECT since FROM followed_path WHERE path = ?').get(path) as { since: number }).since;
}

/** Move a source's checkpoint. Call inside the transaction that stored the rows it covers. */
export function setCheckpoint(store: Store, sourceId: number, offset: number): void {
  store.statement('UPDATE source SET offset = ?, updated_at = ? WHERE id = ?').run(offset, Date.now(), sourceId);
}

export interface NewEvent {
  host: string;
  time: number;
  serial: number;
  /** Record types in arrival order, comma-joined. */
  types: string;
  /** Its records (lines joined by \n): inline, or a slice of a block (raw-blocks.ts insertRawBlock). */
  raw: { text: string } | { block: number; at: number; length: number };
  sourceId: number | null;
  sourceOffset: number | null;
}

/** What a denial_row holds besides its event: the shape (denial-shape.ts) and the occurrence. */
export interface DenialOccurrence {
  shapeId: number;
  granted: boolean;
  permissive: boolean;
  scategories: string | null;
  tcategories: string | null;
  aaProfile: string | null;
  spid: number | null;
  tinode: number | null;
}

/**
 * Store an event and its denials. Returns the event id, or null when an event with the
 * same (host, time, serial) is already stored: then nothing is written (exactly once).
 */
export function insertEvent(store: Store, event: NewEvent, denials: readonly DenialOccurrence[]): number | null {
  const host = hostId(store, event.host);
  const inBlock = 'block' in event.raw ? event.raw : null;
  const result = store
    .statement(
      `INSERT INTO event (host_id, time, serial, types, raw, source_id, source_offset, raw_block, raw_at, raw_len)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (host_id, time, serial) DO NOTHING`,
    )
    .run(
      host,
      event.time,
      event.serial,
      event.types,
      'text' in event.raw ? event.raw.text : '',
      event.sourceId,
      event.sourceOffset,
      inBlock?.block ?? null,
      inBlock?.at ?? null,
      inBlock?.length ?? null,
    );
  if (result.changes === 0) return null;
  const eventId = Number(result.lastInsertRowid);
  insertDenials(store, eventId, host, event, denials);
  return eventId;
}

/**
 * Add records that arrived after their event was complete (and stored) to it: of
 * `lines` (its records, `types[i]` the type of `lines[i]`), those not stored yet are
 * appended to its raw records, and the denials read from them are stored with it
 * (`denialLines[i]` is the line `denials[i]` was read from). Lines stored already are
 * skipped with their denials (a file read again, or a re-read after a restart that holds
 * both stored and new records of the event). Returns the event's id, how many lines were
 * added and how many denials stored, or null when there is no such event or every line
 * is stored already.
 */
export function addLateRecords(
  store: Store,
  event: Pick<NewEvent, 'host' | 'time' | 'serial'>,
  record: { types: readonly string[]; lines: readonly string[] },
  denials: readonly DenialOccurrence[],
  denialLines: readonly string[],
): { eventId: number; recordsAdded: number; denialsStored: number } | null {
  const host = hostId(store, event.host);
  const stored = store
    .statement(`SELECT e.id, e.types, ${RAW_COLUMNS} FROM event e WHERE host_id = ? AND time = ? AND serial = ?`)
    .get(host, event.time, event.serial) as ({ id: number; types: string } & RawRef) | undefined;
  if (!stored) return null;
  const storedRaw = eventRawText(store, stored);
  const have = new Set(storedRaw.split('\n'));
  const fresh = record.lines
    .map((line, i) => ({ line, type: record.types[i] as string }))
    .filter((r) => !have.has(r.line));
  if (fresh.length === 0) return null;
  // The grown event keeps its records inline: rare, and a block is never rewritten.
  store
    .statement('UPDATE event SET types = ?, raw = ?, raw_block = NULL, raw_at = NULL, raw_len = NULL WHERE id = ?')
    .run(
      [stored.types, ...fresh.map((r) => r.type)].join(','),
      [storedRaw, ...fresh.map((r) => r.line)].join('\n'),
      stored.id,
    );
  if (stored.raw_block !== null) releaseRawBlocks(store, new Map([[stored.raw_block, 1]]));
  const freshDenials = denials.filter((_, i) => !have.has(denialLines[i] as string));
  insertDenials(store, stored.id, host, event, freshDenials);
  return { eventId: stored.id, recordsAdded: fresh.length, denialsStored: freshDenials.length };
}

function insertDenials(
  store: Store,
  eventId: number,
  host: number,
  event: Pick<NewEvent, 'time' | 'serial'>,
  denials: readonly DenialOccurrence[],
): void {
  // Optimization: positional parameters; binding named ones from an object per row
  // showed in the ingest profile.
  const insert = store.statement(
    `INSERT INTO denial_row (event_id, host_id, time, serial, granted, permissive, shape_id,
       scategories, tcategories, aa_profile, spid, tinode)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const d of denials)
    insert.run(
      eventId,
      host,
      event.time,
      event.serial,
      d.granted ? 1 : 0,
      d.permissive ? 1 : 0,
      d.shapeId,
      d.scategories,
      d.tcategories,
      d.aaProfile,
      d.spid,
      d.tinode,
    );
}

/** Keep a line we could not read, with why. Stored once per (source, offset). */
export function insertUnparsed(
  store: Store,
  sourceId: number | null,
  offset: number | null,
  reason: string,
  detail: string,
  line: string,
  now: number = Date.now(),
): void {
  store
    .statement(
      `INSERT INTO unparsed_line (source_id, offset, reason, detail, line, stored_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (source_id, offset) DO NOTHING`,
    )
    .run(sourceId, offset, reason, detail, line, now);
}

/** Record an enforcing/permissive change seen in a MAC_STATUS record. */
export function insertMacStatus(
  store: Store,
  host: string,
  time: number,
  enforcing: boolean | null,
  eventId: number,
): void {
  store
    .statement('INSERT OR IGNORE INTO mac_status (host_id, time, enforcing, event_id) VALUES (?, ?, ?, ?)')
    .run(hostId(store, host), time, enforcing === null ? null : enforcing ? 1 : 0, eventId);
}

export interface TrailCounts {
  events: number;
  denials: number;
  unparsed: number;
}

export function countTrail(store: Store): TrailCounts {
  const one = (sql: string) => (store.statement(sql).get() as { n: number }).n;
  return {
    events: one('SELECT count(*) AS n FROM event'),
    denials: one('SELECT count(*) AS n FROM denial'),
    unparsed: one('SELECT count(*) AS n FROM unparsed_line'),
  };
}

export interface EventEvidence {
  eventId: number;
  host: string;
  time: number;
  serial: number;
  /** The records verbatim, in arrival order. */
  records: string[];
  /** The file it was read from and the byte offset of its first record, when known. */
  sourcePath: string | null;
  sourceOffset: number | null;
}

/** One event row with its host and source, as both evidence queries select it. */
const SELECT_EVENT_EVIDENCE = `SELECT e.id, h.name AS host, e.time, e.serial, ${RAW_COLUMNS}, s.path, e.source_offset
  FROM event e JOIN host h ON h.id = e.host_id LEFT JOIN source s ON s.id = e.source_id`;

interface EventEvidenceRow extends RawRef {
  id: number;
  host: string;
  time: number;
  serial: number;
  path: string | null;
  source_offset: number | null;
}

function toEventEvidence(store: Store, row: EventEvidenceRow): EventEvidence {
  return {
    eventId: row.id,
    host: row.host,
    time: row.time,
    serial: row.serial,
    records: eventRawText(store, row).split('\n'),
    sourcePath: row.path,
    sourceOffset: row.source_offset,
  };
}

export interface MacStatusChange {
  host: string;
  time: number;
  /** null when the record did not say. */
  enforcing: boolean | null;
}

/**
 * Enforcing/permissive changes on `host` within [since, until), preceded by the last
 * change before `since` (the state at the window's start), if any.
 */
export function macStatusHistory(store: Store, host: string, since: number, until: number): MacStatusChange[] {
  const rows = store
    .statement(
      `SELECT time, enforcing FROM (
         SELECT m.time, m.enforcing FROM mac_status m JOIN host h ON h.id = m.host_id
         WHERE h.name = @host AND m.time < @since ORDER BY m.time DESC LIMIT 1)
       UNION ALL
       SELECT m.time, m.enforcing FROM mac_status m JOIN host h ON h.id = m.host_id
       WHERE h.name = @host AND m.time >= @since AND m.time < @until
       ORDER BY time`,
    )
    .all({ host, since, until }) as { time: number; enforcing: number | null }[];
  return rows.map((r) => ({ host, time: r.time, enforcing: r.enforcing === null ? null : r.enforcing === 1 }));
}

/**
 * The evidence of a VM's denials in a window, event by event, oldest first, each event
 * once: one joined query per allocation (reports over 100,000 denials stream this).
 */
export function* iterateVmEvidence(
  store: Store,
  ranges: readonly { host: string; key: string; apparmor: boolean; from: number; to: number }[],
): Generator<EventEvidence> {
  for (const r of ranges) {
    const stmt = store.statement(
      `${SELECT_EVENT_EVIDENCE}
       WHERE e.id IN (SELECT d.event_id FROM denial_row d WHERE ${allocationLabelMatch(r.apparmor)} AND d.time >= @from AND d.time < @to AND d.granted = 0)
       ORDER BY e.time, e.id`,
    );
    const rows = stmt.iterate({
      host: r.host,
      key: r.key,
      from: r.from,
      to: r.to,
    }) as IterableIterator<EventEvidenceRow>;
    for (const row of rows) yield toEventEvidence(store, row);
  }
}
