/**
 * Which rotated files (`audit.log.1` … `audit.log.9`) hold records the store does not have
 * yet. A follower that stalls while auditd rotates twice finds the file that was
 * `audit.log` for a moment already at `audit.log.1`, and one stopped for longer finds
 * several. They are recognised by identity (device, inode, first bytes: the store's
 * sources), not by name or modification time: the newest rotated file the store knows
 * marks where reading stopped, and every file rotated after it is read, as is the rest of
 * one read only in part.
 */

import { closeSync, fstatSync, openSync } from 'node:fs';
import type { SourceRow } from '../store/audit-trail.js';
import type { Store } from '../store/store.js';
import { knownSource } from './backfill.js';

/**
 * File times come from the kernel's coarse clock, a tick or more behind Date.now(): a file
 * written just after a checkpoint can carry an earlier time. Files this close are taken.
 */
const CLOCK_SLACK_MS = 1000;

/** auditd keeps `num_logs` files; its maximum is 999, its default 5. */
const MAX_ROTATED = 99;

interface RotatedFile {
  path: string;
  size: number;
  mtimeMs: number;
  known: SourceRow | undefined;
}

/** The rotated files present, oldest first (`path.N` … `path.1`). */
function rotatedFiles(store: Store, path: string): RotatedFile[] {
  const out: RotatedFile[] = [];
  for (let n = MAX_ROTATED; n >= 1; n--) {
    const candidate = `${path}.${n}`;
    let fd: number;
    try {
      fd = openSync(candidate, 'r');
    } catch {
      continue;
    }
    try {
      const st = fstatSync(fd);
      if (st.isFile()) out.push({ path: candidate, size: st.size, mtimeMs: st.mtimeMs, known: knownSource(store, fd) });
    } finally {
      closeSync(fd);
    }
  }
  return out;
}

/**
 * The rotated files to read, oldest first: from the newest one the store knows, each that
 * is unknown or read only in part. When the store knows none of them (they rotated past
 * the last one kept, or we never followed this path), those changed at or after `since`
 * (the last checkpoint time), as the best guess left; with no `since` (first start), none.
 */
export function unreadRotatedFiles(store: Store, path: string, since: number | undefined): string[] {
  const files = rotatedFiles(store, path);
  let newestKnown = -1;
  files.forEach((f, i) => {
    if (f.known) newestKnown = i;
  });
  if (newestKnown === -1)
    return since === undefined ? [] : files.filter((f) => f.mtimeMs >= since - CLOCK_SLACK_MS).map((f) => f.path);
  return files
    .slice(newestKnown)
    .filter((f) => f.known === undefined || f.known.offset < f.size)
    .map((f) => f.path);
}
