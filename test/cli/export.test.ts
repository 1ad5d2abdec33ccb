/** `export`: the demo's denials for a SIEM, resumable, and followed as they arrive. */

import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { openStore } from '../../store/store.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { cli } from '../helpers/cli-run.js';
import { type DemoDatabase, demoDatabase } from '../helpers/demo-database.js';
import { eventsText } from '../helpers/synthetic-log.js';

let demo: DemoDatabase;
let db = '';
beforeAll(async () => {
  requireBuilt();
  demo = await demoDatabase();
  ({ db } = demo);
});
afterAll(() => demo.cleanup());

const lines = (text: string) => text.split('\n').filter(Boolean);

async function addDenials(first: number, last: number): Promise<void> {
  const log = join(dirname(db), `more-${first}.log`);
  writeFileSync(log, eventsText(first, last));
  const store = openStore(db);
  await ingestFiles(store, [log], { localHost: 'hv1' });
  store.close();
}

describe('export', () => {
  it('writes every denial once, oldest first, in each format', async () => {
    const listed = JSON.parse((await cli(['denials', '--db', db, '--json'])).stdout) as { id: number }[];
    const jsonl = await cli(['export', '--db', db]);
    expect(jsonl.status).toBe(0);
    const ids = lines(jsonl.stdout).map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual(listed.map((d) => d.id).sort((a, b) => a - b));
    const ecs = lines((await cli(['export', '--db', db, '--format', 'ecs'])).stdout).map(
      (l) => JSON.parse(l) as { event: { kind: string; id: string } },
    );
    expect(ecs.map((e) => Number(e.event.id))).toEqual(ids);
    expect(new Set(ecs.map((e) => e.event.kind))).toEqual(new Set(['event']));
    const cef = lines((await cli(['export', '--db', db, '--format', 'cef'])).stdout);
    expect(cef).toHaveLength(ids.length);
    expect(cef.every((l) => l.startsWith('CEF:0|svirt-audit|svirt-audit|'))).toBe(true);
  });

  it('--since leaves out what is older', async () => {
    const all = lines((await cli(['export', '--db', db])).stdout).map((l) => JSON.parse(l) as { time: string });
    const cut = all[Math.floor(all.length / 2)]?.time as string;
    const after = lines((await cli(['export', '--db', db, '--since', cut])).stdout);
    expect(after.length).toBe(all.filter((d) => d.time >= cut).length);
    expect(after.length).toBeLessThan(all.length);
  });

  it('--position resumes after the last denial written, and a bad position file is exit 2', async () => {
    const position = join(dirname(db), 'export.pos');
    const first = lines((await cli(['export', '--db', db, '--position', position])).stdout);
    expect(first.length).toBeGreaterThan(0);
    expect(lines((await cli(['export', '--db', db, '--position', position])).stdout)).toEqual([]);
    await addDenials(1, 3);
    const next = lines((await cli(['export', '--db', db, '--position', position])).stdout);
    expect(next).toHaveLength(3);
    writeFileSync(position, 'not an id\n');
    const bad = await cli(['export', '--db', db, '--position', position]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/does not hold a denial id/);
  });

  it('--follow writes denials as they are stored and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'export', '--db', db, '--follow', '--format', 'cef'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await vi.waitFor(() => expect(lines(out).length).toBeGreaterThan(0), { timeout: 10_000 });
      const before = lines(out).length;
      await addDenials(100, 101);
      await vi.waitFor(() => expect(lines(out).length).toBe(before + 2), { timeout: 10_000 });
      expect(out).toMatch(/disk100\.qcow2/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(readFileSync(db).length).toBeGreaterThan(0);
  });
});
