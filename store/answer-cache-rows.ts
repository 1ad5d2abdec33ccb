/**
 * The rows behind the API's per-VM answer cache (api/vm-answer-cache.ts): what tells it
 * that an answer went stale (allocation_generation, denials stored since), and the saved
 * summaries in answer_cache that a restarted server reloads.
 */

import type { Store } from './store.js';

/** Bumped by every allocation change and prune: answers computed before it are stale. */
export function allocationGeneration(store: Store): number {
  return (store.statement('SELECT n FROM allocation_generation WHERE id = 1').get() as { n: number }).n;
}

/** Host and label of each denial stored after `afterId`, oldest first. */
export function denialLabelsAfter(
  store: Store,
  afterId: number,
): [id: number, hostId: number, scategories: string | null, profile: string | null][] {
  return store
    .statement('SELECT id, host_id, scategories, aa_profile FROM denial_row WHERE id > ? ORDER BY id')
    .raw(true)
    .all(afterId) as [number, number, string | null, string | null][];
}

export interface SavedAnswerRow {
  uuid: string;
  key: string;
  generation: number;
  lastDenialId: number;
  weight: number;
  answer: string;
}

/** Replace the saved answers with `rows`, for the next start of `version`. */
export function replaceSavedAnswers(store: Store, version: string, rows: Iterable<SavedAnswerRow>): void {
  store.transaction(() => {
    store.statement('DELETE FROM answer_cache').run();
    const insert = store.statement(
      `INSERT INTO answer_cache (uuid, key, version, generation, last_denial_id, weight, answer)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of rows) insert.run(r.uuid, r.key, version, r.generation, r.lastDenialId, r.weight, r.answer);
  });
}

/** The answers saved by `version` at allocation generation `generation`. */
export function savedAnswers(store: Store, version: string, generation: number): SavedAnswerRow[] {
  return store
    .statement(
      `SELECT uuid, key, generation, last_denial_id AS lastDenialId, weight, answer FROM answer_cache
       WHERE version = ? AND generation = ?`,
    )
    .all(version, generation) as SavedAnswerRow[];
}
