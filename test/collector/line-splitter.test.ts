import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../collector/line-splitter.js';

describe('LineSplitter', () => {
  it('keeps nothing of a chunk once push returns: the caller may reuse its buffer', () => {
    const lines: [string, number][] = [];
    const splitter = new LineSplitter({
      line: (text, offset) => lines.push([text, offset]),
      overlong: () => undefined,
    });
    const buf = Buffer.alloc(16);
    // One buffer, refilled for each read, as the follower and backfill do.
    for (const piece of ['first li', 'ne\nsecond', ' line\nthi', 'rd\n']) {
      buf.fill(0x78);
      const n = buf.write(piece);
      splitter.push(buf.subarray(0, n));
    }
    expect(lines).toEqual([
      ['first line', 0],
      ['second line', 11],
      ['third', 23],
    ]);
  });

  it('a line over the limit is reported by its head, start and length, and the next line is read', () => {
    const lines: string[] = [];
    const overlong: [string, number, number][] = [];
    const splitter = new LineSplitter(
      {
        line: (text) => lines.push(text),
        overlong: (head, offset, bytes) => overlong.push([head.slice(0, 3), offset, bytes]),
      },
      { maxLineBytes: 10 },
    );
    const buf = Buffer.alloc(8);
    for (const piece of ['abcdefgh', 'ijklmnop', 'q\nok\n']) {
      const n = buf.write(piece);
      splitter.push(buf.subarray(0, n));
      buf.fill(0x78);
    }
    expect(overlong).toEqual([['abc', 0, 17]]);
    expect(lines).toEqual(['ok']);
  });
});
