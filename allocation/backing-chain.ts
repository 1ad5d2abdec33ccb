/**
 * The backing chain of a disk image, read from the images: for `launch`, which has no
 * libvirt to ask, and for the hook when the domain XML gives no chain. QEMU opens every
 * layer below an overlay read-only, so they must be labelled too, or the guest is refused
 * its own base image.
 *
 * A guest writes the content of a raw disk, so a raw disk can start with a qcow2 header
 * naming any host file as its "backing file" (libvirt's CVE-2010-2237). The format is
 * therefore never probed: the caller says which format the top image is, only a qcow2
 * image's header is read, and a layer is read as qcow2 only when its parent's header
 * records that format (the backing format extension, as `qemu-img create -F` writes it);
 * a layer with no recorded format is raw, as libvirt treats it. Every layer must resolve
 * (symbolic links followed) inside the top image's own directory or one the admin allows.
 *
 * Only qcow2 names a backing file (QEMU's docs/interop/qcow2.txt: big-endian
 * `backing_file_offset` u64 at byte 8, `backing_file_size` u32 at byte 16). A layer that
 * is not a local file (`nbd://…`, `json:{…}`), is missing or cannot be read ends the
 * chain: QEMU will report it better than we can. Never throws.
 */

import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve, sep } from 'node:path';

/** The image formats `launch` and the hook tell apart: only qcow2 names a backing file. */
export type ImageFormat = 'raw' | 'qcow2';
export const IMAGE_FORMATS: readonly ImageFormat[] = ['raw', 'qcow2'];

const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
/** Header extension "backing file format name" (docs/interop/qcow2.txt). */
const BACKING_FORMAT_EXTENSION = 0xe2792aca;
/** Version 2 headers are 72 bytes; version 3 says its length at byte 100. */
const V2_HEADER_BYTES = 72;
const V3_HEADER_BYTES = 104;
/** QEMU refuses backing file names longer than 1023 bytes. */
const MAX_NAME_BYTES = 1023;
/** Header extensions live in the first cluster; no real image has more than this of them. */
const MAX_EXTENSION_BYTES = 64 * 1024;
/** Far deeper than any real chain; a bound against cycles we could not see by path. */
export const MAX_CHAIN_DEPTH = 64;

export interface ChainRules {
  /** The format of the top image, as the admin or the domain XML gives it. */
  readonly format: ImageFormat;
  /** Directories a layer may resolve into besides the top image's own. */
  readonly allowedDirs?: readonly string[];
}

export interface BackingChain {
  /** The layers below the image, top down, as absolute paths. */
  readonly layers: string[];
  /** Set when a layer was refused: the chain stops above it. */
  readonly refused?: { readonly name: string; readonly resolved: string; readonly reason: string };
}

/** What a qcow2 header says about the layer below. */
export interface Qcow2Backing {
  readonly name: string;
  /** The recorded format of the backing file; undefined when the image records none. */
  readonly format: string | undefined;
}

/** The layers below `image`, read under `rules`. */
export function backingChain(image: string, rules: ChainRules): BackingChain {
  const layers: string[] = [];
  if (rules.format !== 'qcow2') return { layers };
  const top = resolve(image);
  const allowed = [dirname(top), ...(rules.allowedDirs ?? [])].map((dir) => realOrLexical(resolve(dir)));
  const seen = new Set<string>([top]);
  let current = top;
  while (layers.length < MAX_CHAIN_DEPTH) {
    const backing = qcow2Backing(current);
    if (backing === null) break;
    // `file:` is QEMU's explicit protocol for a local file.
    const name = backing.name.startsWith('file:') ? backing.name.slice('file:'.length) : backing.name;
    if (!isLocalPath(name)) break;
    const next = isAbsolute(name) ? resolve(name) : resolve(dirname(current), name);
    if (seen.has(next)) break;
    const where = realOrLexical(next);
    if (!allowed.some((dir) => isInside(where, dir))) {
      return {
        layers,
        refused: {
          name: backing.name,
          resolved: where,
          reason: `outside the allowed directories (${allowed.join(', ')})`,
        },
      };
    }
    seen.add(next);
    layers.push(next);
    if (backing.format !== 'qcow2') break;
    current = next;
  }
  return { layers };
}

/** The backing file a qcow2 header names, with its recorded format; null for other formats or on any error. */
export function qcow2Backing(path: string): Qcow2Backing | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const header = Buffer.alloc(V3_HEADER_BYTES);
    const got = readSync(fd, header, 0, V3_HEADER_BYTES, 0);
    if (got < V2_HEADER_BYTES || header.readUInt32BE(0) !== QCOW2_MAGIC) return null;
    const version = header.readUInt32BE(4);
    const offset = header.readBigUInt64BE(8);
    const size = header.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > MAX_NAME_BYTES || offset > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    const name = Buffer.alloc(size);
    if (readSync(fd, name, 0, size, Number(offset)) < size) return null;
    const headerLength = version >= 3 && got >= V3_HEADER_BYTES ? header.readUInt32BE(100) : V2_HEADER_BYTES;
    return { name: name.toString('utf8'), format: backingFormat(fd, headerLength, Number(offset)) };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The "backing file format name" header extension, read between the header and the name. */
function backingFormat(fd: number, start: number, end: number): string | undefined {
  const length = Math.min(end, start + MAX_EXTENSION_BYTES) - start;
  if (start < V2_HEADER_BYTES || length < 8) return undefined;
  const area = Buffer.alloc(length);
  const got = readSync(fd, area, 0, length, start);
  for (let at = 0; at + 8 <= got;) {
    const type = area.readUInt32BE(at);
    const size = area.readUInt32BE(at + 4);
    if (type === 0) return undefined;
    if (at + 8 + size > got) return undefined;
    if (type === BACKING_FORMAT_EXTENSION) return area.toString('latin1', at + 8, at + 8 + size);
    at += 8 + Math.ceil(size / 8) * 8;
  }
  return undefined;
}

/** QEMU's protocol prefixes (`nbd:`, `rbd:`, `https://…`) and `json:` pseudo-names are not files. */
function isLocalPath(name: string): boolean {
  if (name === '' || name.includes('\0')) return false;
  return !/^[a-z][a-z0-9+.-]*:/i.test(name);
}

/** Where a path really is: links followed; a path that does not exist (yet) as written. */
function realOrLexical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    // A missing layer: its directory may still be a link out of the allowed tree.
    try {
      return resolve(realpathSync(dirname(path)), basename(path));
    } catch {
      return path;
    }
  }
}

function isInside(path: string, dir: string): boolean {
  return path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}
