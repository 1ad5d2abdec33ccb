/**
 * Writing a report as a stream, hashing as it goes: one SHA-256 over everything before
 * the integrity block (the whole report) and one over the evidence section. Both cover
 * the exact bytes written, so `report verify` can recompute them from the file alone.
 */

import { createHash, type Hash } from 'node:crypto';

export interface TextOut {
  write(text: string): void;
}

/**
 * Output to a file descriptor through a 64 KiB buffer: a report writes many small pieces,
 * and a system call per piece dominated its time (bench/report). Call flush() at the end.
 */
export function bufferedFileOut(
  fd: number,
  writeSync: (fd: number, s: string) => unknown,
): TextOut & { flush(): void } {
  let pending = '';
  return {
    write(text: string) {
      pending += text;
      if (pending.length >= 65_536) {
        writeSync(fd, pending);
        pending = '';
      }
    },
    flush() {
      if (pending !== '') writeSync(fd, pending);
      pending = '';
    },
  };
}

/** The byte markers verify looks for, per format. */
export const MARKERS = {
  json: { evidenceBegin: ',"evidence":', integrity: ',"integrity":' },
  md: {
    evidenceBegin: '<!-- evidence:begin -->',
    evidenceEnd: '<!-- evidence:end -->',
    integrity: '<!-- integrity -->',
  },
  html: {
    evidenceBegin: '<!-- evidence:begin -->',
    evidenceEnd: '<!-- evidence:end -->',
    integrity: '<!-- integrity -->',
  },
} as const;

export class HashingWriter implements TextOut {
  readonly #out: TextOut;
  readonly #report: Hash = createHash('sha256');
  readonly #evidence: Hash = createHash('sha256');
  #inEvidence = false;
  #sealed = false;

  constructor(out: TextOut) {
    this.#out = out;
  }

  write(text: string): void {
    if (!this.#sealed) this.#report.update(text, 'utf8');
    if (this.#inEvidence) this.#evidence.update(text, 'utf8');
    this.#out.write(text);
  }

  beginEvidence(): void {
    this.#inEvidence = true;
  }

  endEvidence(): void {
    this.#inEvidence = false;
  }

  /** Stop hashing: what follows is the integrity block. */
  seal(): { reportSha256: string; evidenceSha256: string } {
    this.#sealed = true;
    this.#inEvidence = false;
    return { reportSha256: this.#report.digest('hex'), evidenceSha256: this.#evidence.digest('hex') };
  }
}
