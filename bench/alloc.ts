/**
 * bench/alloc: what a libvirt hook pays per VM start. Times one `svirt-audit alloc`
 * process (start Node, load the CLI, open and migrate-check the database, allocate in a
 * BEGIN IMMEDIATE transaction, print) against `node -e 0` in the same run, interleaved
 * so both see the same machine state. Target: median under 2x node -e 0.
 *
 * Run: npm run build && node dist/bench/alloc.js [runs=50]
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRow, percentile, systemLine } from './system-line.js';

const runs = Number(process.argv[2] ?? 50);
const cli = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'svirt-audit.js');
const dir = mkdtempSync(join(tmpdir(), 'svirt-bench-alloc-'));
const db = join(dir, 'audit.db');

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

// Warm the page cache and create the database outside the timed runs.
time([cli, 'alloc', '--db', db, '--uuid', '00000000-0000-4000-8000-ffffffffffff', '--vm', 'warmup']);
time(['-e', '0']);

const ours: number[] = [];
const bare: number[] = [];
for (let i = 0; i < runs; i++) {
  const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  ours.push(time([cli, 'alloc', '--db', db, '--uuid', uuid, '--vm', `vm${i}`]));
  bare.push(time(['-e', '0']));
}
rmSync(dir, { recursive: true, force: true });

ours.sort((a, b) => a - b);
bare.sort((a, b) => a - b);
const widths = [28, 12, 12, 8];
console.log(formatRow(['workload', 'median ms', 'p95 ms', 'ratio'], widths));
console.log(formatRow(['node -e 0', percentile(bare, 50).toFixed(1), percentile(bare, 95).toFixed(1), '1.00'], widths));
console.log(
  formatRow(
    [
      'svirt-audit alloc',
      percentile(ours, 50).toFixed(1),
      percentile(ours, 95).toFixed(1),
      (percentile(ours, 50) / percentile(bare, 50)).toFixed(2),
    ],
    widths,
  ),
);
console.log(`runs: ${runs} each, interleaved; target: median ratio < 2.00`);
console.log(systemLine());
