/** Relabel and restore actions: which file went from which label to which, and whether it worked. */

import type { RelabelAction } from '../core/allocation.js';
import type { Store } from './store.js';

export interface NewRelabel {
  allocationId: number;
  path: string;
  labelBefore: string | null;
  labelAfter: string | null;
  action: 'relabel' | 'restore';
  error: string | null;
  at: number;
}

interface RelabelRow {
  id: number;
  allocation_id: number;
  path: string;
  label_before: string | null;
  label_after: string | null;
  action: 'relabel' | 'restore';
  error: string | null;
  at: number;
}

function toRelabel(r: RelabelRow): RelabelAction {
  return {
    id: r.id,
    allocationId: r.allocation_id,
    path: r.path,
    labelBefore: r.label_before,
    labelAfter: r.label_after,
    action: r.action,
    error: r.error,
    at: r.at,
  };
}

export function insertRelabel(store: Store, input: NewRelabel): RelabelAction {
  const result = store
    .statement(
      `INSERT INTO relabel (allocation_id, path, label_before, label_after, action, error, at)
       VALUES (@allocationId, @path, @labelBefore, @labelAfter, @action, @error, @at)`,
    )
    .run(input);
  return { id: Number(result.lastInsertRowid), ...input };
}

/** The relabel actions of one allocation, in the order they happened. */
export function listRelabels(store: Store, allocationId: number): RelabelAction[] {
  const rows = store
    .statement('SELECT * FROM relabel WHERE allocation_id = ? ORDER BY at, id')
    .all(allocationId) as RelabelRow[];
  return rows.map(toRelabel);
}

/** Every relabel action on `path`, in order: the evidence for a stale or missing label. */
export function listRelabelsForPath(store: Store, path: string): RelabelAction[] {
  const rows = store.statement('SELECT * FROM relabel WHERE path = ? ORDER BY at, id').all(path) as RelabelRow[];
  return rows.map(toRelabel);
}
