/**
 * The central server's summaries saved for its next start (`serve --store`), as the host
 * API saves its summary cache: just after a start, answers come from the file while the
 * fleet has not changed since, instead of hundreds of milliseconds each while the cache
 * warms. One JSON file beside the token file, written whole (rename) with mode 0600 and
 * read only if it is a regular file of ours that others cannot write; anything else, or a
 * file of another fleet database, is ignored with a warning: the cache only saves time.
 */

import { closeSync, constants, fstatSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import type { AnswerDeps, CachedAnswer } from './fleet-answer-cache.js';

const FORMAT = 'svirt-audit-fleet-answers/1';
const MAX_BYTES = 256 * 1024 * 1024;

interface SavedFile {
  format: string;
  fleet: string;
  entries: CachedAnswer[];
}

export function saveFleetAnswers(path: string, fleet: string, entries: readonly CachedAnswer[]): void {
  const body: SavedFile = { format: FORMAT, fleet, entries: [...entries] };
  writeFileSync(`${path}.tmp`, JSON.stringify(body), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

const isDeps = (d: unknown): d is AnswerDeps =>
  d === 'all' ||
  (typeof d === 'object' &&
    d !== null &&
    Array.isArray((d as { hosts?: unknown }).hosts) &&
    (d as { hosts: unknown[] }).hosts.every((h) => typeof h === 'string'));

const isEntry = (e: unknown): e is CachedAnswer =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as CachedAnswer).key === 'string' &&
  typeof (e as CachedAnswer).body === 'string' &&
  typeof (e as CachedAnswer).seen === 'string' &&
  isDeps((e as CachedAnswer).deps);

/** The saved entries for `fleet`, or [] with the reason when there are none to use. */
export function loadFleetAnswers(path: string, fleet: string): { entries: CachedAnswer[]; ignored: string | null } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { entries: [], ignored: code === 'ENOENT' ? null : `${path} cannot be read (${code})` };
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    const me = process.geteuid?.();
    if (!st.isFile() || (me !== undefined && st.uid !== me) || (st.mode & 0o022) !== 0 || st.size > MAX_BYTES)
      return { entries: [], ignored: `${path} is not a regular file of this user that only it may write` };
    const buffer = Buffer.alloc(st.size);
    text = buffer.subarray(0, readSync(fd, buffer, 0, st.size, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {
    return { entries: [], ignored: `${path} is not JSON` };
  }
  const s = saved as Partial<SavedFile>;
  if (s.format !== FORMAT || !Array.isArray(s.entries) || !s.entries.every(isEntry))
    return { entries: [], ignored: `${path} is not a saved answer cache` };
  if (s.fleet !== fleet) return { entries: [], ignored: `${path} holds the answers of another fleet database` };
  return { entries: s.entries, ignored: null };
}
