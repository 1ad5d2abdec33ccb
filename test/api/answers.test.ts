import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerPool, InProcessAnswers } from '../../api/answer-pool.js';
import type { DenialQuery } from '../../api/answers.js';
import { ingestFiles } from '../../collector/backfill.js';
import { SvirtAuditError } from '../../core/errors.js';
import { listVms } from '../../store/allocations.js';
import { allocateSelinux } from '../helpers/allocations.js';
import { BASE_TIME, eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

// eventsText(n): event n at BASE_TIME + 10n ms, running as c<n % 500>,c<500 + n % 500>.
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const at = (event: number) => new Date(BASE_TIME * 1000 + event * 10).toISOString();

let t: TempStore;
let plain: InProcessAnswers;
let files = 0;
async function ingest(first: number, last: number): Promise<void> {
  const file = join(t.dir, `log${files++}.log`);
  writeFileSync(file, eventsText(first, last));
  await ingestFiles(t.store, [file], { localHost: 'hv1' });
}

beforeAll(async () => {
  t = openTempStore();
  allocateSelinux(t.store, { uuid: A, name: 'a', categories: 'c1,c501' });
  allocateSelinux(t.store, { uuid: B, name: 'b', categories: 'c2,c502' });
  await ingest(1, 5002); // a: events 1, 501, …, 5001; b: 2, 502, …, 5002
  plain = new InProcessAnswers(t.store);
});
afterAll(() => t.cleanup());

describe('cached pages of a VM’s denials', () => {
  it('equal the uncached page as `since` moves on, moves back, and denials arrive', async () => {
    const cached = new InProcessAnswers(t.store, { version: 'test' });
    const same = async (q: DenialQuery) => {
      const expected = await plain.ask('denialPage', q);
      expect(await cached.ask('denialPage', q)).toBe(expected);
      return JSON.parse(expected) as { items: { time: string }[]; next: string | null };
    };
    expect((await same({ vm: 'a', since: at(1000), limit: 3 })).next).not.toBeNull();
    await same({ vm: 'a', since: at(3000), limit: 3 }); // nothing drops out
    const cut = await same({ vm: 'a', since: at(4200), limit: 3 }); // 5001 and 4501 remain
    expect(cut.items.map((d) => d.time)).toEqual([at(5001), at(4501)]);
    expect(cut.next).toBeNull();
    await same({ vm: 'a', since: at(100), limit: 3 }); // an earlier since is computed again
    await same({ vm: 'a', since: at(100), limit: 3, tclass: 'dir' }); // another query, another entry
    await ingest(5501, 5502); // one new denial for a, one for b
    expect((await same({ vm: 'a', since: at(100), limit: 3 })).items[0]?.time).toBe(at(5501));
    await same({ vm: 'b', since: at(100), limit: 3 });
  });
});

describe('the answer pool (worker threads)', () => {
  let pool: AnswerPool;
  const errors: Error[] = [];
  const newPool = () =>
    new AnswerPool(
      { dbPath: t.path, version: 'test', threads: 2, onError: (e) => errors.push(e) },
      new URL('../../dist/api/answer-worker.js', import.meta.url),
    );
  beforeAll(() => {
    pool = newPool();
  });
  afterAll(() => pool.close());

  it('answers as the request thread does, and sees what is stored after it started', async () => {
    expect(await pool.warm(listVms(t.store))).toBe(2);
    for (const q of [
      { vm: 'a' },
      { vm: B, limit: 2 },
      { since: at(3000), limit: 5 },
      { vm: 'b', kind: 'unlabeled-target' as const },
    ]) {
      expect(await pool.ask('denialPage', q, q.vm)).toBe(await plain.ask('denialPage', q));
    }
    expect(await pool.ask('vmSummary', { ref: 'a' }, 'a')).toBe(await plain.ask('vmSummary', { ref: 'a' }));
    await ingest(6001, 6001);
    const fresh = JSON.parse(await pool.ask('vmSummary', { ref: 'a' }, 'a')) as { total: number };
    expect(fresh.total).toBe((JSON.parse(await plain.ask('vmSummary', { ref: 'a' })) as { total: number }).total);
    expect(errors).toEqual([]);
  });

  it('passes domain errors back with their code and hint', async () => {
    const error = await pool.ask('vmSummary', { ref: 'nosuch' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SvirtAuditError);
    expect((error as SvirtAuditError).code).toBe('UNKNOWN_VM');
    expect((error as SvirtAuditError).hint).toMatch(/svirt-audit vms/);
  });

  it('saves its summaries at stop; the next pool of the same version starts with them', async () => {
    await pool.ask('vmSummary', { ref: A }, A);
    await pool.ask('vmSummary', { ref: B }, B);
    expect(await pool.save(t.store)).toBe(2);
    const next = newPool();
    try {
      // Nothing asked yet: what it would save again is what it loaded.
      expect(await next.save(t.store)).toBe(2);
      expect(await next.ask('vmSummary', { ref: A }, A)).toBe(await plain.ask('vmSummary', { ref: A }));
    } finally {
      await next.close();
    }
  });

  it('a thread that cannot start is reported and requests fail instead of hanging', async () => {
    const failures: Error[] = [];
    let reported: () => void = () => undefined;
    const bothReported = new Promise<void>((resolve) => (reported = resolve));
    const broken = new AnswerPool(
      {
        dbPath: join(t.dir, 'missing', 'audit.db'),
        version: 'test',
        threads: 2,
        onError: (e) => {
          failures.push(e);
          if (failures.length === 2) reported();
        },
      },
      new URL('../../dist/api/answer-worker.js', import.meta.url),
    );
    try {
      await bothReported;
      expect(failures[0]?.message).toMatch(/cannot open database/);
      await expect(broken.ask('denialPage', {})).rejects.toThrow(/answer thread/);
    } finally {
      await broken.close();
    }
  });
});
