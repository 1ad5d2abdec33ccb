/** Rotating a log as auditd and logrotate do, and reading back which events a store holds. */

import { copyFileSync, existsSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import type { Store } from '../../store/store.js';

/** auditd's rotation: LOG.N → LOG.N+1, …, LOG → LOG.1, a new empty LOG. */
export function rotateByRename(log: string): void {
  shiftRotated(log);
  renameSync(log, `${log}.1`);
  writeFileSync(log, '');
}

/** logrotate's copytruncate: LOG copied to LOG.1, then LOG truncated in place. */
export function rotateByCopyTruncate(log: string): void {
  shiftRotated(log);
  copyFileSync(log, `${log}.1`);
  truncateSync(log, 0);
}

function shiftRotated(log: string): void {
  for (let n = 8; n >= 1; n--) if (existsSync(`${log}.${n}`)) renameSync(`${log}.${n}`, `${log}.${n + 1}`);
}

/** The (time, serial) keys of the stored events, in order, as synthetic-log's eventKeys gives them. */
export function storedKeys(store: Store): string[] {
  return (
    store.db.prepare('SELECT time, serial FROM event ORDER BY time, serial').all() as { time: number; serial: number }[]
  ).map((r) => `${r.time}:${r.serial}`);
}
