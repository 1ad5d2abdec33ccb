/**
 * `--disk PATH[:ro|:shared][:fmt=raw|qcow2]` for launch, parsed where it is declared (kept
 * out of the command module so --help stays cheap). The format is the admin's word, never
 * guessed from the image: a raw disk's first bytes are written by the guest.
 */

import { InvalidArgumentError } from 'commander';
import type { DiskMode } from '../core/allocation.js';
import { type ImageFormat, IMAGE_FORMATS } from '../allocation/backing-chain.js';

export interface DiskOption {
  path: string;
  mode: DiskMode;
  format: ImageFormat;
}

const SUFFIX = /:(ro|shared|rw|fmt=[^:/]*)$/;

export function parseDisk(value: string, previous: DiskOption[] = []): DiskOption[] {
  let path = value;
  let mode: DiskMode | undefined;
  let format: ImageFormat | undefined;
  for (let m = SUFFIX.exec(path); m; m = SUFFIX.exec(path)) {
    const word = m[1] as string;
    if (word.startsWith('fmt=')) {
      const given = word.slice('fmt='.length);
      if (!(IMAGE_FORMATS as readonly string[]).includes(given))
        throw new InvalidArgumentError(`unknown image format ${given}: give fmt=raw or fmt=qcow2`);
      if (format !== undefined) throw new InvalidArgumentError('give fmt= once');
      format = given as ImageFormat;
    } else {
      if (mode !== undefined) throw new InvalidArgumentError('give one of :ro, :shared, :rw');
      mode = word as DiskMode;
    }
    path = path.slice(0, m.index);
  }
  if (!path.startsWith('/'))
    throw new InvalidArgumentError(
      'give an absolute path, e.g. /var/lib/images/vm.qcow2:fmt=qcow2 or /iso/tools.iso:ro',
    );
  return [...previous, { path, mode: mode ?? 'rw', format: format ?? 'raw' }];
}

export function parseBackingDir(value: string, previous: string[] = []): string[] {
  if (!value.startsWith('/')) throw new InvalidArgumentError('give an absolute directory, e.g. /var/lib/images/golden');
  return [...previous, value];
}
