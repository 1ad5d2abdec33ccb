/**
 * The backing chain of a disk image, read from the images: for `launch`, which has no
 * libvirt to ask, and for the hook when the domain XML gives no chain. QEMU opens every
 * layer below an overlay read-only, so they must be labelled too, or the guest is refused
 * its own base image.
 *
 * Only qcow2 names a backing file (QEMU's docs/interop/qcow2.txt: big-endian
 * `backing_file_offset` u64 at byte 8, `backing_file_size` u32 at byte 16). A layer that
 * is not a local file (`nbd://…`, `json:{…}`), is missing or cannot be read ends the
 * chain: QEMU will report it better than we can. Never throws.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
const HEADER_BYTES = 20;
/** QEMU refuses backing file names longer than 1023 bytes. */
const MAX_NAME_BYTES = 1023;
/** Far deeper than any real chain; a bound against cycles we could not see by path. */
export const MAX_CHAIN_DEPTH = 64;

/** The layers below `image`, top down, as absolute paths; [] when it has none. */
export function backingChain(image: string): string[] {
  const chain: string[] = [];
  const seen = new Set<string>([resolve(image)]);
  let current = resolve(image);
  while (chain.length < MAX_CHAIN_DEPTH) {
    const written = qcow2BackingName(current);
    if (written === null) break;
    // `file:` is QEMU's explicit protocol for a local file.
    const name = written.startsWith('file:') ? written.slice('file:'.length) : written;
    if (!isLocalPath(name)) break;
    const next = isAbsolute(name) ? name : resolve(dirname(current), name);
    if (seen.has(next)) break;
    seen.add(next);
    chain.push(next);
    current = next;
  }
  return chain;
}

/** The backing file name written in a qcow2 header; null for other formats or on any error. */
export function qcow2BackingName(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    if (readSync(fd, header, 0, HEADER_BYTES, 0) < HEADER_BYTES) return null;
    if (header.readUInt32BE(0) !== QCOW2_MAGIC) return null;
    const offset = header.readBigUInt64BE(8);
    const size = header.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > MAX_NAME_BYTES || offset > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    const name = Buffer.alloc(size);
    if (readSync(fd, name, 0, size, Number(offset)) < size) return null;
    return name.toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** QEMU's protocol prefixes (`nbd:`, `rbd:`, `https://…`) and `json:` pseudo-names are not files. */
function isLocalPath(name: string): boolean {
  if (name === '' || name.includes('\0')) return false;
  return !/^[a-z][a-z0-9+.-]*:/i.test(name);
}
