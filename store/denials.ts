/** Reading denials back. (The attributed query layer of the answers builds on these.) */

import type { Store } from './store.js';

export interface StoredDenialRef {
  id: number;
  eventId: number;
  time: number;
  serial: number;
}

/** The denials of the event (host, time, serial), if it is stored. */
export function denialsOfEvent(store: Store, host: string, time: number, serial: number): StoredDenialRef[] {
  return store
    .statement(
      `SELECT d.id, d.event_id AS eventId, e.time, e.serial
       FROM event e JOIN host h ON h.id = e.host_id JOIN denial d ON d.event_id = e.id
       WHERE h.name = ? AND e.time = ? AND e.serial = ?`,
    )
    .all(host, time, serial) as StoredDenialRef[];
}
