/** `--disk PATH[:ro|:shared]` for launch, parsed where it is declared (kept out of the command module so --help stays cheap). */

import { InvalidArgumentError } from 'commander';
import type { DiskMode } from '../core/allocation.js';

export function parseDisk(
  value: string,
  previous: { path: string; mode: DiskMode }[] = [],
): { path: string; mode: DiskMode }[] {
  const m = /^(.*?)(?::(ro|shared|rw))?$/.exec(value) as RegExpExecArray;
  const path = m[1] as string;
  if (!path.startsWith('/'))
    throw new InvalidArgumentError('give an absolute path, e.g. /var/lib/images/vm.qcow2 or /iso/tools.iso:ro');
  return [...previous, { path, mode: (m[2] ?? 'rw') as DiskMode }];
}
