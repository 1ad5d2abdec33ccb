/**
 * A minimal qcow2 file for tests: a version 3 header as QEMU's docs/interop/qcow2.txt puts
 * it (magic, version, backing file offset and size, header length), the "backing file
 * format name" extension when a format is given (as `qemu-img create -F` writes it), the
 * end of extensions, then the backing file name. Enough for code that reads a backing
 * chain; QEMU itself would want the rest.
 */

import { writeFileSync } from 'node:fs';

const HEADER_BYTES = 104;

export function writeQcow2Header(path: string, backing: string | null, backingFormat?: string): void {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write('QFI\xfb', 0, 'latin1');
  header.writeUInt32BE(3, 4);
  header.writeUInt32BE(HEADER_BYTES, 100);
  const extensions: Buffer[] = [];
  if (backingFormat !== undefined) {
    const value = Buffer.from(backingFormat, 'latin1');
    const ext = Buffer.alloc(8 + Math.ceil(value.length / 8) * 8);
    ext.writeUInt32BE(0xe2792aca, 0);
    ext.writeUInt32BE(value.length, 4);
    value.copy(ext, 8);
    extensions.push(ext);
  }
  extensions.push(Buffer.alloc(8)); // end of the header extensions
  const name = backing === null ? Buffer.alloc(0) : Buffer.from(backing, 'utf8');
  const nameOffset = HEADER_BYTES + extensions.reduce((n, e) => n + e.length, 0);
  if (backing !== null) {
    header.writeBigUInt64BE(BigInt(nameOffset), 8);
    header.writeUInt32BE(name.length, 16);
  }
  writeFileSync(path, Buffer.concat([header, ...extensions, name]));
}
