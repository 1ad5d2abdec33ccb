/**
 * A denial is stored in two parts: its shape (what was denied to whom: everything that a
 * denial loop repeats, kept once in denial_shape) and its occurrence (when, which event,
 * which process and inode, under which label: one narrow denial_row per denial). The view
 * `denial` joins them back into the one row that queries read.
 *
 * The label columns (scategories, tcategories, aa_profile) and granted/permissive stay
 * on the occurrence: the per-VM indexes range over them without reading shapes.
 *
 * A shape is found by a hash of its values. The writer keeps the ids it used in a
 * per-connection cache (Store.shapeIds); pruning deletes shapes that no remaining denial
 * uses, so the cache is dropped whenever another connection has committed (PRAGMA
 * data_version), when this connection prunes, and when a transaction fails. Each shape
 * records the latest time it was used, at most SHAPE_TIME_SLACK_MS behind, so pruning can
 * tell which shapes only old denials use.
 */

import { createHash } from 'node:crypto';
import type { DenialFacts } from '../core/denial.js';
import { contextToStore } from './implied-context.js';
import type { Store } from './store.js';

/** The columns of denial_shape, in the view's order. */
export const SHAPE_COLUMNS = [
  'model',
  'record_type',
  'perms',
  'tclass',
  'scontext',
  'stype',
  'scomm',
  'sexe',
  'tcontext',
  'ttype',
  'tpath',
  'tname',
  'tdev',
  'aa_child',
  'aa_operation',
  'aa_requested',
  'aa_denied',
  'aa_fsuid',
  'aa_ouid',
  'aa_info',
  'aa_error',
  'syscall',
  'syscall_success',
  'syscall_exit',
  'auid',
  'uid',
  'proctitle',
] as const;

export type ShapeValues = (string | number | null)[];

/** A denial's shape, in SHAPE_COLUMNS order. */
export function shapeOf(d: DenialFacts): ShapeValues {
  const aa = d.apparmor;
  const sc = d.syscall;
  return [
    d.model,
    d.recordType,
    d.perms.join(' '),
    d.tclass,
    contextToStore('source', d.source.context, d.source.type, d.source.categories),
    d.source.type,
    d.source.comm,
    d.source.exe,
    contextToStore('target', d.target.context, d.target.type, d.target.categories),
    d.target.type,
    d.target.path,
    d.target.name,
    d.target.dev,
    aa?.child ?? null,
    aa?.operation ?? null,
    aa?.requestedMask ?? null,
    aa?.deniedMask ?? null,
    aa?.fsuid ?? null,
    aa?.ouid ?? null,
    aa?.info ?? null,
    aa?.error ?? null,
    sc?.syscall ?? null,
    sc === null || sc.success === null ? null : sc.success ? 1 : 0,
    sc?.exit ?? null,
    sc?.auid ?? null,
    sc?.uid ?? null,
    d.proctitle,
  ];
}

/** How far a shape's last_time may lag the newest denial using it (saves an UPDATE per denial). */
export const SHAPE_TIME_SLACK_MS = 1000;

const CACHE_LIMIT = 50_000;

/** A shape's identity: 16 bytes of SHA-256 over its values (a collision needs ~2^64 tries). */
export function shapeKey(encoded: string): Buffer {
  return createHash('sha256').update(encoded).digest().subarray(0, 16);
}

/** The JSON of a denial's shape: the key the shape cache and batches (collector/event-batch.ts) use. */
export function shapeKeyOf(d: DenialFacts): string {
  return JSON.stringify(shapeOf(d));
}

/**
 * The id of the shape whose values `encoded` (shapeKeyOf) holds, stored if new, its
 * last_time kept within the slack of `time`. Call inside the write transaction that
 * inserts the denial_row.
 */
export function shapeIdFor(store: Store, encoded: string, time: number): number {
  const cache = currentShapeIds(store);
  const known = cache.get(encoded);
  if (known) {
    if (time > known.lastTime + SHAPE_TIME_SLACK_MS) {
      store.statement('UPDATE denial_shape SET last_time = max(last_time, ?) WHERE id = ?').run(time, known.id);
      known.lastTime = time;
    }
    return known.id;
  }
  const values = JSON.parse(encoded) as ShapeValues;
  const row = store
    .statement(
      `INSERT INTO denial_shape (key, last_time, ${SHAPE_COLUMNS.join(', ')})
       VALUES (?, ?, ${SHAPE_COLUMNS.map(() => '?').join(', ')})
       ON CONFLICT (key) DO UPDATE SET last_time = max(last_time, excluded.last_time)
       RETURNING id, last_time`,
    )
    .get(shapeKey(encoded), time, ...values) as { id: number; last_time: number };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(encoded, { id: row.id, lastTime: row.last_time });
  return row.id;
}

/** Forget the cached shape ids of this connection (after it deleted shapes). */
export function forgetShapes(store: Store): void {
  store.shapeIds.clear();
}

/**
 * Delete the shapes that no denial left uses, once every unheld denial older than `cut`
 * is gone: a shape whose last_time is older than the cut (less the slack) is used by old
 * denials only, and of those only held ones remain. Call in the pruning transaction.
 */
export function deleteUnusedShapes(store: Store, cut: number): number {
  const n = store
    .statement(
      `DELETE FROM denial_shape WHERE last_time < ? AND id NOT IN (SELECT shape_id FROM denial_row WHERE time < ?)`,
    )
    .run(cut - SHAPE_TIME_SLACK_MS, cut).changes;
  if (n > 0) forgetShapes(store);
  return n;
}

function currentShapeIds(store: Store): Store['shapeIds'] {
  const dataVersion = store.statement('PRAGMA data_version').pluck().get() as number;
  if (dataVersion !== store.shapeIdsVersion) {
    store.shapeIds.clear();
    store.shapeIdsVersion = dataVersion;
  }
  return store.shapeIds;
}
