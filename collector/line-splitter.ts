/**
 * Byte chunks in, lines out, each with the byte offset where it starts. Pure (no I/O).
 *
 * Offsets are exact bytes, not characters, because checkpoints and evidence point into
 * the file. Kernel records are ASCII (the kernel hex-encodes anything else), so a chunk
 * normally decodes to as many characters as it has bytes and offsets are character
 * indexes; a chunk with multi-byte UTF-8 falls back to measuring each line.
 *
 * A line longer than `maxLineBytes` is not buffered whole: the splitter keeps its first
 * bytes, skips the rest to the next newline, and reports it as too long.
 */

export interface LineSink {
  /** A complete line without its `\n`; `offset` is the byte offset of its first byte. */
  line(text: string, offset: number): void;
  /** A line over the limit: its first bytes, where it started and how long it was. */
  overlong(head: string, offset: number, bytes: number): void;
}

const NEWLINE = 0x0a;

export class LineSplitter {
  readonly #sink: LineSink;
  readonly #maxLineBytes: number;
  #carry: Buffer = Buffer.alloc(0);
  /** Byte offset of the first byte of `#carry` (or of the next line when it is empty). */
  #offset: number;
  /** While skipping an overlong line: its head, start and length so far. */
  #skipping: { head: string; start: number; bytes: number } | undefined;

  constructor(sink: LineSink, options: { startOffset?: number; maxLineBytes?: number } = {}) {
    this.#sink = sink;
    this.#offset = options.startOffset ?? 0;
    this.#maxLineBytes = options.maxLineBytes ?? 1 << 20;
  }

  /** Byte offset just past the last complete line handed out. */
  get completeOffset(): number {
    return this.#offset;
  }

  /** Bytes held back waiting for their newline. */
  get pendingBytes(): number {
    return this.#carry.length + (this.#skipping?.bytes ?? 0);
  }

  /** Nothing of `chunk` is kept once this returns (a partial line is copied): callers reuse their buffer. */
  push(chunk: Buffer): void {
    let start = 0;
    if (this.#skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        this.#skipping.bytes += chunk.length;
        return;
      }
      const s = this.#skipping;
      s.bytes += nl;
      this.#sink.overlong(s.head, s.start, s.bytes);
      this.#offset = s.start + s.bytes + 1;
      this.#skipping = undefined;
      start = nl + 1;
    } else if (this.#carry.length > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl === -1) {
        this.#hold(Buffer.concat([this.#carry, chunk]));
        return;
      }
      const whole = Buffer.concat([this.#carry, chunk.subarray(0, nl)]);
      this.#carry = Buffer.alloc(0);
      if (whole.length > this.#maxLineBytes) {
        this.#sink.overlong(whole.toString('utf8', 0, 200), this.#offset, whole.length);
      } else {
        this.#sink.line(whole.toString('utf8'), this.#offset);
      }
      this.#offset += whole.length + 1;
      start = nl + 1;
    }

    const last = chunk.lastIndexOf(NEWLINE);
    if (last < start) {
      this.#hold(Buffer.from(chunk.subarray(start)));
      return;
    }
    this.#emitLines(chunk, start, last);
    if (last + 1 < chunk.length) this.#hold(Buffer.from(chunk.subarray(last + 1)));
  }

  /** End of input: a last line without a newline is handed out as it is (a line cut short). */
  end(): void {
    if (this.#skipping) {
      this.#sink.overlong(this.#skipping.head, this.#skipping.start, this.#skipping.bytes);
      this.#offset = this.#skipping.start + this.#skipping.bytes;
      this.#skipping = undefined;
    } else if (this.#carry.length > 0) {
      this.#sink.line(this.#carry.toString('utf8'), this.#offset);
      this.#offset += this.#carry.length;
      this.#carry = Buffer.alloc(0);
    }
  }

  /** Emit the lines in chunk[start, last) (last is the index of a newline). */
  #emitLines(chunk: Buffer, start: number, last: number): void {
    const text = chunk.toString('utf8', start, last);
    const ascii = text.length === last - start;
    let from = 0;
    let offset = this.#offset;
    while (from <= text.length) {
      let nl = text.indexOf('\n', from);
      if (nl === -1) nl = text.length;
      const line = text.slice(from, nl);
      const bytes = ascii ? nl - from : Buffer.byteLength(line);
      if (bytes > this.#maxLineBytes) this.#sink.overlong(line.slice(0, 200), offset, bytes);
      else this.#sink.line(line, offset);
      offset += bytes + 1;
      from = nl + 1;
    }
    this.#offset = offset;
  }

  #hold(bytes: Buffer): void {
    if (bytes.length > this.#maxLineBytes) {
      this.#skipping = { head: bytes.toString('utf8', 0, 200), start: this.#offset, bytes: bytes.length };
      this.#carry = Buffer.alloc(0);
    } else {
      this.#carry = bytes;
    }
  }
}
