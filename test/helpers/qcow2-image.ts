/**
 * A minimal qcow2 file for tests: the header fields QEMU's docs/interop/qcow2.txt puts
 * first (magic, version, backing file offset and size), then the backing file name.
 * Enough for code that reads a backing chain; QEMU itself would want the rest.
 */

import { writeFileSync } from 'node:fs';

export function writeQcow2Header(path: string, backing: string | null): void {
  const header = Buffer.alloc(104);
  header.write('QFI\xfb', 0, 'latin1');
  header.writeUInt32BE(3, 4);
  const name = backing === null ? Buffer.alloc(0) : Buffer.from(backing, 'utf8');
  if (backing !== null) {
    header.writeBigUInt64BE(BigInt(header.length), 8);
    header.writeUInt32BE(name.length, 16);
  }
  writeFileSync(path, Buffer.concat([header, name]));
}
