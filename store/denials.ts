/** Reading denials back. (The attributed query layer of the answers builds on these.) */

import type { Store } from './store.js';

export interface StoredDenialRef {
  id: number;
  eventId: number;
  time: number;
  serial: number;
}

/** The denials of the event (host, time, serial), if it is stored (a search of denial_by_time). */
export function denialsOfEvent(store: Store, host: string, time: number, serial: number): StoredDenialRef[] {
  return store
    .statement(
      `SELECT d.id, d.event_id AS eventId, d.time, d.serial
       FROM denial d JOIN host h ON h.id = d.host_id
       WHERE h.name = ? AND d.time = ? AND d.serial = ?`,
    )
    .all(host, time, serial) as StoredDenialRef[];
}
