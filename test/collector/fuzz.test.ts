/**
 * Properties over real corpus lines: however the bytes are cut into chunks, flipped or
 * interleaved, the parser never throws and never loses a well-formed record it was given
 * untouched.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuditRecord, parseAuditRecords } from '../../collector/audit-record.js';
import { AuditStream } from '../../collector/audit-stream.js';
import { CORPUS, corpusAvailable } from '../helpers/fixtures.js';

const FILES = [
  'field_avcs.txt',
  'selinux__python-sepolgen-tests-test_data-short.log',
  'laurel__shell-proc-trace.txt',
  'linux-audit-parser-rs__src-testdata-ALL.txt',
  'go-libaudit__testdata-out_of_order.log',
];

function lines(): string[] {
  return FILES.flatMap((f) => readFileSync(join(CORPUS, f), 'utf8').split('\n'));
}

/** Raw text of every record the stream handed out (in events) for this input. */
function rawRecords(chunks: Buffer[]): { raws: Set<string>; counters: AuditStream['counters'] } {
  const raws = new Set<string>();
  const s = new AuditStream(
    {
      event: (e) => {
        for (const r of e.records) raws.add(r.raw);
      },
      unparsed: () => undefined,
    },
    { allEvents: true },
  );
  for (const c of chunks) s.push(c);
  s.end();
  return { raws, counters: s.counters };
}

function wellFormed(line: string): string[] {
  return parseAuditRecords(line)
    .filter((i): i is AuditRecord => i instanceof AuditRecord)
    .map((r) => r.raw);
}

describe.runIf(corpusAvailable())('parser properties on corpus lines', () => {
  const corpus = corpusAvailable() ? lines() : [];
  const whole = Buffer.from(corpus.join('\n'));

  it('cutting the bytes into any chunks changes nothing', () => {
    const reference = rawRecords([whole]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 40 }), (cuts) => {
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), whole.length];
        const chunks = points.slice(1).map((end, i) => whole.subarray(points[i], end));
        const got = rawRecords(chunks);
        expect(got.raws).toEqual(reference.raws);
        expect(got.counters.records).toBe(reference.counters.records);
        expect(got.counters.unparsed).toBe(reference.counters.unparsed);
      }),
      { numRuns: 60 },
    );
  });

  it('flipped bytes never throw and never cost an untouched record', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ line: fc.nat(), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 30,
        }),
        (flips) => {
          const mutated = corpus.map((l) => Buffer.from(l));
          const touched = new Set<number>();
          for (const f of flips) {
            const i = f.line % mutated.length;
            const buf = mutated[i] as Buffer;
            if (buf.length === 0) continue;
            buf[f.at % buf.length] = f.byte;
            touched.add(i);
          }
          // A flipped newline splits a line: its neighbours count as touched too.
          const { raws } = rawRecords([Buffer.concat(mutated.flatMap((b) => [b, Buffer.from('\n')]))]);
          corpus.forEach((l, i) => {
            if (touched.has(i) || touched.has(i - 1) || touched.has(i + 1)) return;
            for (const raw of wellFormed(l)) expect(raws.has(raw), raw).toBe(true);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('interleaving lines of different files keeps every record', () => {
    const a = readFileSync(join(CORPUS, FILES[0] as string), 'utf8').split('\n');
    const b = readFileSync(join(CORPUS, FILES[1] as string), 'utf8').split('\n');
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: a.length + b.length, maxLength: a.length + b.length }),
        (picks) => {
          const out: string[] = [];
          let i = 0;
          let j = 0;
          for (const takeA of picks) {
            if ((takeA && i < a.length) || j >= b.length) out.push(a[i++] as string);
            else out.push(b[j++] as string);
          }
          const { raws } = rawRecords([Buffer.from(out.join('\n'))]);
          for (const l of [...a, ...b]) for (const raw of wellFormed(l)) expect(raws.has(raw)).toBe(true);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('random binary junk, a 10 MB line and cut records between good ones: every good record kept, every bad line counted', () => {
    const good = corpus.filter((l) => wellFormed(l).length > 0).slice(0, 200);
    const junk = [
      Buffer.from([0, 1, 2, 0xff, 0xfe, 0x1d, 0x0d]),
      Buffer.alloc(10 * 1024 * 1024, 0x61),
      Buffer.from('type=AVC msg=audit(1663361'),
    ];
    const parts: Buffer[] = [];
    good.forEach((l, i) => {
      parts.push(Buffer.from(`${l}\n`));
      parts.push(junk[i % junk.length] as Buffer, Buffer.from('\n'));
    });
    const { raws, counters } = rawRecords(parts);
    for (const l of good) for (const raw of wellFormed(l)) expect(raws.has(raw)).toBe(true);
    expect(counters.unparsed).toBe(good.length);
  });
});

if (!corpusAvailable()) console.log(`skipped: the shared corpus is not at ${CORPUS}`);
