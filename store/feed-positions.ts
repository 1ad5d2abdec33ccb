/**
 * Where each reader of new denials stands (`feed_position`, migration 0013): the alert
 * evaluator and the syslog forwarder save the last denial id they handled, in the
 * transaction of what they wrote or after what they sent.
 */

import { latestDenialId } from './denial-query.js';
import type { Store } from './store.js';

/** Where a reader of new denials (alerts, the syslog forwarder) stands; null before its first run. */
export function feedPosition(store: Store, name: string): number | null {
  const row = store.statement('SELECT denial_id FROM feed_position WHERE name = ?').get(name) as
    { denial_id: number } | undefined;
  return row?.denial_id ?? null;
}

export function saveFeedPosition(store: Store, name: string, denialId: number): void {
  store
    .statement(
      'INSERT INTO feed_position (name, denial_id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET denial_id = excluded.denial_id',
    )
    .run(name, denialId);
}

/**
 * The reader's position, set on its first run to `first` (by default the newest denial
 * now: what was stored before raises nothing). Call inside a write transaction.
 */
export function startFeed(store: Store, name: string, first?: number): number {
  const position = feedPosition(store, name);
  if (position !== null) return position;
  const start = first ?? latestDenialId(store);
  saveFeedPosition(store, name, start);
  return start;
}
