/**
 * Which file is this? Device and inode, plus a hash of its first bytes: auditd reuses
 * inodes after rotation, and logrotate's copytruncate keeps the inode but replaces the
 * content. A checkpoint belongs to one identity.
 */

import { createHash } from 'node:crypto';
import { fstatSync, readSync } from 'node:fs';
import type { SourceIdentity } from '../store/audit-trail.js';

/** How many leading bytes identify a file (a few records). */
export const HEAD_BYTES = 4096;

/** The identity of an open file descriptor, hashing up to HEAD_BYTES (fewer if it is shorter). */
export function identityOfFd(fd: number, path: string, headBytes = HEAD_BYTES): SourceIdentity {
  const st = fstatSync(fd);
  const n = Math.min(headBytes, st.size);
  return { path, device: Number(st.dev), inode: Number(st.ino), headBytes: n, headHash: headHashOfFd(fd, n) };
}

/** Hash of the first `bytes` bytes of an open file (to match a stored identity that covered fewer bytes). */
export function headHashOfFd(fd: number, bytes: number): string {
  const head = Buffer.alloc(bytes);
  let read = 0;
  while (read < bytes) {
    const got = readSync(fd, head, read, bytes - read, read);
    if (got === 0) break;
    read += got;
  }
  return createHash('sha256').update(head.subarray(0, read)).digest('hex');
}
