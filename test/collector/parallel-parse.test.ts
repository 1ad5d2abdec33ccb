/**
 * Parsing on several threads must find what one thread finds: every denial event, with
 * the same fields, once; the same counts of lines and records (and of events, but for a
 * lone late record that lands just past a cut). Checked on the
 * shared corpus (every file, one after another) and a synthetic log, cut into many small
 * ranges so that events straddle cuts.
 */

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditStream } from '../../collector/audit-stream.js';
import { denialEventKey } from '../../collector/parallel-parse.js';
import { requireBuilt } from '../helpers/built.js';
import { CORPUS, corpusAvailable, REPO_ROOT } from '../helpers/fixtures.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

/** The compiled module: its workers are compiled files. */
async function parallel() {
  return (await import(
    join(REPO_ROOT, 'dist', 'collector', 'parallel-parse.js')
  )) as typeof import('../../collector/parallel-parse.js');
}

function sequential(file: string) {
  const keys: string[] = [];
  let denials = 0;
  const stream = new AuditStream({
    event: (event, findings) => {
      if (findings.denials.length === 0) return;
      denials += findings.denials.length;
      keys.push(denialEventKey(event, findings.denials));
    },
    unparsed: () => undefined,
  });
  stream.push(readFileSync(file));
  stream.end();
  const c = stream.counters;
  return { lines: c.lines, records: c.records, events: c.events, denials, keys: keys.sort() };
}

async function compare(file: string, rangeBytes: number, headZone: number) {
  const { parseFileInParallel } = await parallel();
  const one = sequential(file);
  for (const threads of [1, 2, 3]) {
    const many = await parseFileInParallel(file, { threads, rangeBytes, headZone, keys: true });
    expect({ ...many, keys: many.keys?.sort() }).toEqual(one);
  }
  return one;
}

if (!corpusAvailable()) console.log(`skipped: parallel parse on the corpus: the shared corpus is not at ${CORPUS}`);

describe('parsing on several threads', () => {
  it('a synthetic log cut every 64 KiB: the same denials, lines, records and events as one thread', async () => {
    const file = join(scratch.dir, 'synthetic.log');
    writeFileSync(file, eventsText(1, 3000));
    const one = await compare(file, 64 * 1024, 32 * 1024);
    expect(one.denials).toBe(3000);
  });

  it.runIf(corpusAvailable())(
    'every corpus file, cut in four: the same as one thread',
    async () => {
      const { parseFileInParallel } = await parallel();
      const differ: string[] = [];
      let denials = 0;
      for (const name of readdirSync(CORPUS)
        .filter((n) => !n.endsWith('.md'))
        .sort()) {
        const file = join(CORPUS, name);
        const one = sequential(file);
        denials += one.denials;
        const size = readFileSync(file).length;
        const many = await parseFileInParallel(file, {
          threads: 2,
          rangeBytes: Math.max(256, Math.ceil(size / 4)),
          headZone: Math.max(256, Math.ceil(size / 4)),
          keys: true,
        });
        // Events may count one more where a late record (an EOE after PROCTITLE ended its event)
        // lies just past a cut: it is a late event of its own either way, with nothing in it.
        const same = (x: typeof one) =>
          JSON.stringify({ lines: x.lines, records: x.records, denials: x.denials, keys: x.keys });
        if (same({ ...many, keys: many.keys?.sort() ?? [] }) !== same(one)) differ.push(name);
      }
      expect(differ).toEqual([]);
      expect(denials).toBeGreaterThan(100);
    },
    120_000,
  );
});
