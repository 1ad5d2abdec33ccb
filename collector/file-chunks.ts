/**
 * Reading an open audit log from a byte offset, as chunks: plain files by position,
 * gzip'ed ones through gunzip (the offset then counts uncompressed bytes: what was read
 * before is skipped). Ingest reads this way on its own thread and on its parse worker.
 */

import { createReadStream, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

const CHUNK = 1 << 20;

/**
 * Hand `fd`'s bytes from `startOffset` on to `onChunk`, awaiting it. `onChunk` may not
 * keep the buffer past its return (it is reused). Returns why a gzip file could not be
 * read to its end (cut short or corrupt: what came before is handed over); throws
 * I/O errors.
 */
export async function readFileChunks(
  file: { fd: number; gzip: boolean; startOffset: number },
  onChunk: (chunk: Buffer) => void | Promise<void>,
): Promise<{ error?: string }> {
  if (!file.gzip) {
    const buf = Buffer.allocUnsafe(CHUNK);
    let position = file.startOffset;
    for (;;) {
      const n = readSync(file.fd, buf, 0, CHUNK, position);
      if (n === 0) return {};
      position += n;
      await onChunk(buf.subarray(0, n));
    }
  }
  let skip = file.startOffset;
  let handed = 0;
  try {
    // pipeline, not pipe: a corrupt file must stop both streams before the fd closes.
    await pipeline(
      createReadStream('', { fd: file.fd, autoClose: false, start: 0 }),
      createGunzip(),
      async (pieces) => {
        for await (const piece of pieces) {
          let buf = piece as Buffer;
          if (skip > 0) {
            const cut = Math.min(skip, buf.length);
            buf = buf.subarray(cut);
            skip -= cut;
            if (buf.length === 0) continue;
          }
          handed += buf.length;
          await onChunk(buf);
        }
      },
    );
    return {};
  } catch (e) {
    return {
      error: `the gzip data is cut short or corrupt after ${file.startOffset + handed} uncompressed bytes (${(e as Error).message}); the records before that point are stored`,
    };
  }
}
