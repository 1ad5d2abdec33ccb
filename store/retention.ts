/**
 * Retention: removing the oldest records in small transactions, holds that keep a VM's
 * records, the per-host horizon below which removed events are not stored again, and
 * handing freed pages back to the file system.
 *
 * A step removes the denials of one time window (at most `batchSize` of them) that no
 * hold covers, and the events of the same window except those a kept denial or the
 * MAC_STATUS history needs: a denial carries its event's time, so a window's events and
 * denials are the same set of times. Each step is its own transaction (a few ms), so the
 * collector and the hook wait at most that long for the lock.
 */

import { SvirtAuditError } from '../core/errors.js';
import { deleteUnusedShapes } from './denial-shape.js';
import { releaseRawBlocks } from './raw-blocks.js';
import type { Store } from './store.js';

export interface Hold {
  id: number;
  vmUuid: string;
  vmName: string;
  reason: string;
  since: number | null;
  until: number | null;
  createdAt: number;
  releasedAt: number | null;
}

interface HoldRow {
  id: number;
  vm_uuid: string;
  vm_name: string;
  reason: string;
  since: number | null;
  until: number | null;
  created_at: number;
  released_at: number | null;
}

const toHold = (r: HoldRow): Hold => ({
  id: r.id,
  vmUuid: r.vm_uuid,
  vmName: r.vm_name,
  reason: r.reason,
  since: r.since,
  until: r.until,
  createdAt: r.created_at,
  releasedAt: r.released_at,
});

export function addHold(
  store: Store,
  input: { vmUuid: string; vmName: string; reason: string; since: number | null; until: number | null },
  now: number = Date.now(),
): Hold {
  const id = store.immediate(
    () =>
      store
        .statement('INSERT INTO hold (vm_uuid, vm_name, reason, since, until, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(input.vmUuid, input.vmName, input.reason, input.since, input.until, now).lastInsertRowid,
  );
  return getHold(store, Number(id)) as Hold;
}

export function getHold(store: Store, id: number): Hold | undefined {
  const row = store.statement('SELECT * FROM hold WHERE id = ?').get(id) as HoldRow | undefined;
  return row && toHold(row);
}

/** Holds, newest first; released ones only when asked. */
export function listHolds(store: Store, options: { released?: boolean; vmUuid?: string } = {}): Hold[] {
  const rows = store
    .statement(
      `SELECT * FROM hold WHERE (@released = 1 OR released_at IS NULL) AND (@uuid IS NULL OR vm_uuid = @uuid)
       ORDER BY id DESC`,
    )
    .all({ released: options.released ? 1 : 0, uuid: options.vmUuid ?? null }) as HoldRow[];
  return rows.map(toHold);
}

/** Release hold `id`. Throws UNKNOWN_HOLD when there is no such hold or it is released already. */
export function releaseHold(store: Store, id: number, now: number = Date.now()): Hold {
  const changed = store.immediate(
    () => store.statement('UPDATE hold SET released_at = ? WHERE id = ? AND released_at IS NULL').run(now, id).changes,
  );
  const hold = getHold(store, id);
  if (changed === 0 || !hold)
    throw new SvirtAuditError(
      'UNKNOWN_HOLD',
      hold ? `hold ${id} was released already` : `there is no hold ${id}`,
      'list the holds with: svirt-audit hold --list',
    );
  return hold;
}

/** The active holds on VM `uuid` whose window meets [from, to]. */
export function holdsCovering(store: Store, uuid: string, from: number, to: number): Hold[] {
  return listHolds(store, { vmUuid: uuid }).filter((h) => (h.since ?? 0) <= to && (h.until ?? Infinity) >= from);
}

/** The latest time below which records were pruned (any host), or null if nothing ever was. */
export function prunedBefore(store: Store): number | null {
  const row = store.statement('SELECT max(horizon) AS t FROM prune_horizon').get() as { t: number | null };
  return row.t;
}

/** Per host name: events older than this were pruned and are not stored again. */
export function loadHorizons(store: Store): Map<string, number> {
  const rows = store
    .statement('SELECT h.name, p.horizon FROM prune_horizon p JOIN host h ON h.id = p.host_id')
    .all() as { name: string; horizon: number }[];
  return new Map(rows.map((r) => [r.name, r.horizon]));
}

/** A label held by a VM under a hold, on a host, over a time range: its denials stay. */
interface HeldRange {
  hostId: number;
  apparmor: boolean;
  key: string;
  from: number;
  to: number;
}

function heldRanges(store: Store): { ranges: HeldRange[]; uuids: Set<string> } {
  const ranges: HeldRange[] = [];
  const uuids = new Set<string>();
  for (const hold of listHolds(store)) {
    uuids.add(hold.vmUuid);
    const allocations = store
      .statement('SELECT host_id, model, label, categories, started_at, ended_at FROM allocation WHERE vm_uuid = ?')
      .all(hold.vmUuid) as {
      host_id: number;
      model: string;
      label: string | null;
      categories: string;
      started_at: number;
      ended_at: number | null;
    }[];
    for (const a of allocations) {
      const apparmor = a.model === 'apparmor';
      const key = apparmor ? (a.label ?? '') : a.categories;
      if (key === '') continue;
      const from = Math.max(a.started_at, hold.since ?? 0);
      const to = Math.min(a.ended_at ?? Number.MAX_SAFE_INTEGER, hold.until ?? Number.MAX_SAFE_INTEGER);
      if (from <= to) ranges.push({ hostId: a.host_id, apparmor, key, from, to });
    }
  }
  return { ranges, uuids };
}

type DenialKeyRow = [
  id: number,
  eventId: number,
  hostId: number,
  time: number,
  scats: string | null,
  tcats: string | null,
  profile: string | null,
];

function isHeld(row: DenialKeyRow, ranges: readonly HeldRange[]): boolean {
  const [, , hostId, time, scats, tcats, profile] = row;
  for (const r of ranges) {
    if (r.hostId !== hostId || time < r.from || time > r.to) continue;
    if (r.apparmor ? profile === r.key : scats === r.key || tcats === r.key) return true;
  }
  return false;
}

export interface PruneOptions {
  /** Denials and events older than this (ms) go, unless a hold covers them. */
  before: number;
  /** Ended allocations (and their relabels) older than this go, unless their VM is held. */
  labelsBefore: number;
  /** Denials per transaction (default 2,000). */
  batchSize?: number;
  /** Stop early once this returns true (the size bound is met). */
  enough?: () => boolean;
}

export interface PruneCounts {
  denials: number;
  events: number;
  allocations: number;
  relabels: number;
  /** Denial shapes no denial left uses (store/denial-shape.ts). */
  shapes: number;
  /** Lines the collector could not read, stored before the cutoff. */
  unparsed: number;
  /** Alerts sent or given up before the label cutoff (the outbox's record of them). */
  alerts: number;
  /** Denials kept because a hold covers them. */
  held: number;
  /** Records older than this are gone (or held); null when nothing was old enough. */
  reached: number | null;
}

/** Counts of a prune that removed nothing yet. */
export function noPruneCounts(): PruneCounts {
  return {
    denials: 0,
    events: 0,
    shapes: 0,
    unparsed: 0,
    alerts: 0,
    allocations: 0,
    relabels: 0,
    held: 0,
    reached: null,
  };
}

const SELECT_WINDOW = `SELECT id, event_id, host_id, time, scategories, tcategories, aa_profile FROM denial_row
  WHERE time >= ? AND time < ? ORDER BY time LIMIT ?`;

/**
 * Prune in steps: each `next()` runs one transaction and yields the running counts, so
 * a caller can pause between steps (serve yields to the event loop). Done when nothing
 * older than `before` is left, or `enough()` says so.
 */
export function* pruneSteps(store: Store, options: PruneOptions): Generator<PruneCounts, PruneCounts> {
  const batch = options.batchSize ?? 2000;
  const counts = noPruneCounts();
  const { ranges, uuids } = heldRanges(store);
  let from = 0;
  while (from < options.before && !options.enough?.()) {
    const end = store.immediate(() => {
      let rows = store
        .statement(SELECT_WINDOW)
        .raw(true)
        .all(from, options.before, batch + 1) as DenialKeyRow[];
      let end = options.before;
      if (rows.length > batch) {
        // The window ends before the last time read, so that it holds every denial of its times.
        end = (rows[batch] as DenialKeyRow)[3];
        rows = rows.slice(0, batch).filter((r) => r[3] < end);
        if (rows.length === 0) {
          // More than a batch share one time: take that whole time.
          end = (store.statement(SELECT_WINDOW).raw(true).get(from, options.before, 1) as DenialKeyRow)[3] + 1;
          rows = store.statement(SELECT_WINDOW).raw(true).all(from, end, -1) as DenialKeyRow[];
        }
      }
      const keptEvents = new Set<number>();
      const remove = store.statement('DELETE FROM denial_row WHERE id = ?');
      for (const row of rows) {
        if (isHeld(row, ranges)) {
          keptEvents.add(row[1]);
          counts.held++;
        } else {
          remove.run(row[0]);
          counts.denials++;
        }
      }
      for (const { id: hostId } of store.statement('SELECT id FROM host').all() as { id: number }[]) {
        for (const r of store
          .statement('SELECT event_id FROM mac_status WHERE host_id = ? AND time >= ? AND time < ?')
          .all(hostId, from, end) as { event_id: number }[])
          keptEvents.add(r.event_id);
        const events = store
          .statement('SELECT id, raw_block FROM event WHERE host_id = ? AND time >= ? AND time < ?')
          .raw(true)
          .all(hostId, from, end) as [number, number | null][];
        const removeEvent = store.statement('DELETE FROM event WHERE id = ?');
        const fromBlocks = new Map<number, number>();
        for (const [id, block] of events) {
          if (keptEvents.has(id)) continue;
          removeEvent.run(id);
          counts.events++;
          if (block !== null) fromBlocks.set(block, (fromBlocks.get(block) ?? 0) + 1);
        }
        releaseRawBlocks(store, fromBlocks);
        store
          .statement(
            `INSERT INTO prune_horizon (host_id, horizon) VALUES (?, ?)
             ON CONFLICT (host_id) DO UPDATE SET horizon = max(horizon, excluded.horizon)`,
          )
          .run(hostId, end);
      }
      counts.shapes += deleteUnusedShapes(store, end);
      // Cached answers (summaries, pages) counted what is gone: the generation tells them.
      if (rows.length > 0) store.statement('UPDATE allocation_generation SET n = n + 1 WHERE id = 1').run();
      return end;
    });
    from = end;
    counts.reached = end;
    yield { ...counts };
  }
  // Unreadable lines have no event time: they go by when they were stored, with the
  // records of that age (a size-bound run: up to where its windows reached).
  const unparsedBefore = options.enough ? counts.reached : options.before;
  while (unparsedBefore !== null) {
    const removed = store.immediate(
      () =>
        store
          .statement(
            `DELETE FROM unparsed_line WHERE id IN
               (SELECT id FROM unparsed_line WHERE stored_at IS NULL OR stored_at < ? LIMIT ?)`,
          )
          .run(unparsedBefore, batch).changes,
    );
    if (removed === 0) break;
    counts.unparsed += removed;
    yield { ...counts };
  }
  // Alerts go with the label history once no receiver is still being tried.
  for (;;) {
    const removed = store.immediate(() => {
      const old = store
        .statement(
          `SELECT id FROM alert a WHERE a.state = 'due' AND a.due_at < ? AND NOT EXISTS
             (SELECT 1 FROM alert_delivery d WHERE d.alert_id = a.id AND d.state = 'pending') LIMIT ?`,
        )
        .all(options.labelsBefore, batch) as { id: number }[];
      for (const { id } of old) {
        store.statement('DELETE FROM alert_delivery WHERE alert_id = ?').run(id);
        store.statement('DELETE FROM alert WHERE id = ?').run(id);
      }
      return old.length;
    });
    if (removed === 0) break;
    counts.alerts += removed;
    yield { ...counts };
  }
  for (;;) {
    const removed = store.immediate(() => {
      const old = store
        .statement('SELECT id, vm_uuid FROM allocation WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ?')
        .all(options.labelsBefore, batch) as { id: number; vm_uuid: string }[];
      let n = 0;
      for (const a of old) {
        if (uuids.has(a.vm_uuid)) continue;
        counts.relabels += store.statement('DELETE FROM relabel WHERE allocation_id = ?').run(a.id).changes;
        store.statement('DELETE FROM allocation_change WHERE allocation_id = ?').run(a.id);
        store.statement('DELETE FROM allocation WHERE id = ?').run(a.id);
        n++;
      }
      counts.allocations += n;
      return n;
    });
    if (removed === 0) break;
    yield { ...counts };
  }
  return counts;
}

/** Record a finished prune (what `prune` and serve log and reports can cite). */
export function recordPruneRun(store: Store, counts: PruneCounts, reason: string, now: number = Date.now()): void {
  if (counts.reached === null) return;
  store.immediate(() =>
    store
      .statement('INSERT INTO prune_run (at, before, denials, events, allocations, reason) VALUES (?, ?, ?, ?, ?, ?)')
      .run(now, counts.reached, counts.denials, counts.events, counts.allocations, reason),
  );
}

/** Bytes the database's pages hold (what pruning reduces), and the file's size in pages. */
export function storeUsage(store: Store): { usedBytes: number; fileBytes: number; freeBytes: number } {
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  const free = store.db.pragma('freelist_count', { simple: true }) as number;
  return { usedBytes: (pages - free) * pageSize, fileBytes: pages * pageSize, freeBytes: free * pageSize };
}

/** Whether freed pages can be handed back to the file system without rewriting the file. */
export function canShrinkInPlace(store: Store): boolean {
  return store.db.pragma('auto_vacuum', { simple: true }) === 2;
}

/**
 * Hand up to `pages` free pages back to the file system (the file shrinks); one short
 * transaction. Returns how many were freed. A file made before incremental vacuum was
 * turned on needs `compactFile` once.
 */
export function shrinkStep(store: Store, pages = 2048): number {
  if (!canShrinkInPlace(store)) return 0;
  const before = store.db.pragma('freelist_count', { simple: true }) as number;
  if (before === 0) return 0;
  store.db.pragma(`incremental_vacuum(${pages})`);
  return before - (store.db.pragma('freelist_count', { simple: true }) as number);
}

/** Rewrite the file without its free pages, with incremental vacuum on from then (slow: the whole file). */
export function compactFile(store: Store): void {
  store.db.pragma('auto_vacuum = INCREMENTAL');
  store.db.exec('VACUUM');
}
