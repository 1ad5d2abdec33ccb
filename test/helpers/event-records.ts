/** An event's raw records, read back as the report's evidence reads them. */

import { eventRawText, RAW_COLUMNS, type RawRef } from '../../store/raw-blocks.js';
import type { Store } from '../../store/store.js';

export function eventRecords(store: Store, eventId: number): string[] | undefined {
  const row = store.db.prepare(`SELECT ${RAW_COLUMNS} FROM event e WHERE e.id = ?`).get(eventId) as RawRef | undefined;
  return row && eventRawText(store, row).split('\n');
}
