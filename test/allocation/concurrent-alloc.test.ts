import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAllocations } from '../../store/allocations.js';
import { openStore } from '../../store/store.js';
import { requireBuilt } from '../helpers/built.js';
import { tempDir } from '../helpers/temp-store.js';

const PROCESSES = 32;
const EACH = 20;

function runWorker(db: string, worker: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      join(import.meta.dirname, 'alloc-worker.mjs'),
      db,
      String(worker),
      String(EACH),
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('allocation under concurrency', () => {
  const scratch = tempDir();
  beforeAll(() => requireBuilt());
  afterAll(() => scratch.cleanup());

  it(`${PROCESSES} processes allocating ${EACH} labels each get ${PROCESSES * EACH} distinct category sets`, async () => {
    const db = join(scratch.dir, 'audit.db');
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, w) => runWorker(db, w)));
    for (const r of results) {
      expect(r.stderr, 'a worker wrote to stderr').toBe('');
      expect(r.code, r.stderr).toBe(0);
    }
    const printed = results.flatMap((r) => r.stdout.trim().split('\n'));
    expect(printed).toHaveLength(PROCESSES * EACH);
    expect(new Set(printed).size).toBe(PROCESSES * EACH);

    const store = openStore(db);
    const rows = listAllocations(store, { openOnly: true });
    store.close();
    expect(rows).toHaveLength(PROCESSES * EACH);
    expect(new Set(rows.map((r) => r.categories)).size).toBe(PROCESSES * EACH);
  }, 120_000);
});
