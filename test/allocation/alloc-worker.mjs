// One OS process of the concurrency test: N allocations against one database file,
// through the compiled launch code. Prints the category sets it got, one per line.

import { CategorySet } from '../../dist/core/category-set.js';
import { allocateLabel } from '../../dist/allocation/allocate.js';
import { openStore } from '../../dist/store/store.js';

const [path, worker, count] = process.argv.slice(2);
// A narrow range (780 pairs for 640 allocations) makes any race in the transaction
// produce a duplicate; with c0.c1023 random draws would rarely collide anyway.
const range = CategorySet.parse('c0.c39');
const store = openStore(path, { busyTimeoutMs: 30_000 });
const out = [];
for (let i = 0; i < Number(count); i++) {
  const n = Number(worker) * 1000 + i;
  const uuid = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  out.push(
    allocateLabel(store, { uuid, name: `vm-${n}`, host: 'hv1', model: 'selinux', source: 'cli', range }).allocation
      .categories,
  );
}
store.close();
process.stdout.write(`${out.join('\n')}\n`);
