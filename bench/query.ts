/**
 * bench/query: the answers on a big store. 1,000,000 denials over 500 VMs and 5,000
 * allocations (labels reused: 10 three-day slots, pairs from a pool of 600), built once
 * through the real ingest path into bench/.data/. Times, through the query layer the CLI
 * and API share: `summary` for one VM, and `denials --vm X --since 24h`; median and p95
 * over 50 random VMs. Beside: `ausearch -if FILE -m AVC --raw` scanning the same denials
 * from their log (the only way a user answers this today). Target: at least 100x faster.
 *
 * Run: npm run build && node dist/bench/query.js
 */

import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ingestFiles } from '../collector/backfill.js';
import { allocateLabel, releaseAllocation } from '../allocation/allocate.js';
import { queryDenials } from '../store/denial-query.js';
import { summarizeVm } from '../store/vm-summary.js';
import { openStore } from '../store/store.js';
import { ausearchAvc } from './peers.js';
import { formatRow, percentile, systemLine } from './system-line.js';
import { DATA_DIR } from './workloads.js';

const VMS = 500;
const SLOTS = 10;
const DENIALS = 1_000_000;
const POOL = 600;
const SLOT_MS = 3 * 86_400_000;
const NOW = Date.UTC(2026, 10, 22);
const START = NOW - SLOTS * SLOT_MS;
const uuidOf = (v: number) => `00000000-0000-4000-8000-${String(v).padStart(12, '0')}`;
const pairOf = (v: number, k: number) => {
  const p = (v + k * 37) % POOL;
  return `c${p},c${p + 400}`;
};

const log = join(DATA_DIR, 'query-1m.log');
const dbPath = join(DATA_DIR, 'query-1m.db');

async function build(): Promise<void> {
  const store = openStore(dbPath, { durability: 'normal' });
  for (let k = 0; k < SLOTS; k++) {
    for (let v = 0; v < VMS; v++) {
      allocateLabel(store, {
        uuid: uuidOf(v),
        name: `vm${v}`,
        host: 'hv1',
        model: 'selinux',
        source: 'hook',
        label: `system_u:system_r:svirt_t:s0:${pairOf(v, k)}`,
        startedAt: START + k * SLOT_MS,
      });
    }
    for (let v = 0; v < VMS; v++) releaseAllocation(store, 'hv1', uuidOf(v), START + (k + 1) * SLOT_MS);
  }
  const out = createWriteStream(log);
  const perSlot = DENIALS / SLOTS;
  let serial = 0;
  for (let k = 0; k < SLOTS; k++) {
    let text = '';
    for (let i = 0; i < perSlot; i++) {
      const v = i % VMS;
      const t = START + k * SLOT_MS + Math.floor((i / perSlot) * SLOT_MS);
      serial++;
      const stamp = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}`;
      text += `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=${1000 + v} comm="qemu-kvm" name="f${i % 97}" dev="dm-0" ino=${i} scontext=system_u:system_r:svirt_t:s0:${pairOf(v, k)} tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\ntype=EOE msg=audit(${stamp}):\n`;
      if (text.length > 1 << 20) {
        if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
        text = '';
      }
    }
    out.write(text);
  }
  await new Promise<void>((r) => out.end(() => r()));
  await ingestFiles(store, [log], { localHost: 'hv1' });
  store.close();
}

if (!existsSync(dbPath) || !existsSync(log)) {
  console.log('building the store (once; about a minute)…');
  await build();
}

// A store built by an older svirt-audit is upgraded first (reads refuse an old schema).
openStore(dbPath).close();
const store = openStore(dbPath, { readonly: true });
const total = (store.db.prepare('SELECT count(*) AS n FROM denial').get() as { n: number }).n;
const allocations = (store.db.prepare('SELECT count(*) AS n FROM allocation').get() as { n: number }).n;
const summaryMs: number[] = [];
const denialsMs: number[] = [];
let rows = 0;
for (let i = 0; i < 50; i++) {
  const v = Math.floor(Math.random() * VMS);
  let t0 = performance.now();
  const s = summarizeVm(store, uuidOf(v), `vm${v}`);
  summaryMs.push(performance.now() - t0);
  t0 = performance.now();
  rows += queryDenials(store, { vmUuid: uuidOf(v), since: NOW - 86_400_000 }).length;
  denialsMs.push(performance.now() - t0);
  if (s.total !== DENIALS / VMS) throw new Error(`vm${v} has ${s.total} denials, expected ${DENIALS / VMS}`);
}
store.close();
const peer = ausearchAvc(log);
summaryMs.sort((a, b) => a - b);
denialsMs.sort((a, b) => a - b);
const widths = [44, 10, 10, 10];
console.log(
  `store: ${total} denials, ${allocations} allocations, ${VMS} VMs; denials --since 24h returned ${rows / 50} rows per VM on average`,
);
console.log(formatRow(['workload', 'p50 ms', 'p95 ms', 'vs scan'], widths));
const scan = peer.ms;
const ratio = (ms: number) => (scan ? `${(scan / ms).toFixed(0)}x` : '-');
console.log(
  formatRow(
    [
      'summary --vm X (2,000 denials, 10 allocations)',
      percentile(summaryMs, 50).toFixed(1),
      percentile(summaryMs, 95).toFixed(1),
      ratio(percentile(summaryMs, 50)),
    ],
    widths,
  ),
);
console.log(
  formatRow(
    [
      'denials --vm X --since 24h',
      percentile(denialsMs, 50).toFixed(2),
      percentile(denialsMs, 95).toFixed(2),
      ratio(percentile(denialsMs, 50)),
    ],
    widths,
  ),
);
if (scan) console.log(formatRow(['ausearch -if FILE -m AVC --raw (whole log)', scan.toFixed(0), '-', '1x'], widths));
else console.log(`ausearch: skipped: ${peer.skipped}`);
console.log('target: at least 100x faster than the scan');
console.log(systemLine());
