/**
 * bench/latency: time from a line appended to the followed file to its denial being
 * returned by a query, p50 and p99 over 1,000 appends, while a background writer appends
 * 2,000 lines/s. The follower runs in this process (as in `serve`); the query uses its own
 * connection (as the CLI or API would). Target: p99 under 250 ms.
 *
 * Run: npm run build && node dist/bench/latency.js [appends=1000]
 */

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditFileFollower } from '../collector/follow.js';
import { denialsAfter } from '../store/denial-query.js';
import { openStore } from '../store/store.js';
import { formatRow, percentile, systemLine } from './system-line.js';

const appends = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'svirt-bench-latency-'));
const log = join(dir, 'audit.log');
writeFileSync(log, '');
const db = join(dir, 'audit.db');
const writerStore = openStore(db, { durability: 'normal' });
const reader = openStore(db, { readonly: true });
const follower = new AuditFileFollower(writerStore, { path: log, localHost: 'bench', pollMs: 10 });
await follower.start();

const BASE = 1_800_000_000_000;
let serial = 0;
function event(kind: string): { lines: string; time: number; serial: number } {
  serial++;
  const time = BASE + serial;
  const stamp = `${Math.floor(time / 1000)}.${String(time % 1000).padStart(3, '0')}:${serial}`;
  const lines =
    `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="${kind}" dev="dm-0" ino=${serial} scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\n` +
    `type=SYSCALL msg=audit(${stamp}): arch=c000003e syscall=257 success=no exit=-13 pid=7 uid=107 comm="qemu-kvm" exe="/usr/libexec/qemu-kvm" key=(null)\n` +
    `type=EOE msg=audit(${stamp}):\n`;
  return { lines, time, serial };
}

// Background load: 2,000 lines/s = one 3-line event every 1.5 ms, written in 10 ms slices.
const load = setInterval(() => {
  let text = '';
  for (let i = 0; i < 7; i++) text += event('load').lines;
  appendFileSync(log, text);
}, 10);

const latencies: number[] = [];
let seen = 0;
for (let i = 0; i < appends; i++) {
  const probe = event('probe');
  const t0 = performance.now();
  appendFileSync(log, probe.lines);
  // Through the query layer the answers use: the denials stored since the last look.
  for (;;) {
    const fresh = denialsAfter(reader, seen);
    if (fresh.some((d) => d.serial === probe.serial && d.host === 'bench')) break;
    seen = fresh.at(-1)?.id ?? seen;
    await new Promise((r) => setTimeout(r, 1));
  }
  latencies.push(performance.now() - t0);
}
clearInterval(load);
await follower.stop();
reader.close();
writerStore.close();
rmSync(dir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const widths = [40, 10, 10, 10];
console.log(formatRow(['append → denial returned by a query', 'p50 ms', 'p99 ms', 'max ms'], widths));
console.log(
  formatRow(
    [
      `${appends} appends, 2,000 lines/s background`,
      percentile(latencies, 50).toFixed(1),
      percentile(latencies, 99).toFixed(1),
      (latencies[latencies.length - 1] as number).toFixed(1),
    ],
    widths,
  ),
);
console.log('target: p99 < 250 ms (no peer: ausearch cannot follow a file)');
console.log(systemLine());
