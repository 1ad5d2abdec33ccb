import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { releaseAllocation } from '../../allocation/allocate.js';
import { listVms } from '../../store/allocations.js';
import { VmAnswerCache } from '../../api/vm-answer-cache.js';
import { allocateSelinux } from '../helpers/allocations.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
beforeEach(() => {
  t = openTempStore();
  // eventsText(n) runs as svirt_t:s0:c<n>,c<500+n> (n < 500)
  allocateSelinux(t.store, { uuid: A, name: 'a', categories: 'c1,c501' });
  allocateSelinux(t.store, { uuid: B, name: 'b', categories: 'c2,c502' });
});
afterEach(() => t.cleanup());

let n = 0;
async function ingest(first: number, last: number): Promise<void> {
  const file = join(t.dir, `l${n++}.log`);
  writeFileSync(file, eventsText(first, last));
  await ingestFiles(t.store, [file], { localHost: 'hv1' });
}

describe('VmAnswerCache', () => {
  it('serves the cached answer until a denial with the VM’s label or an allocation change arrives', async () => {
    await ingest(1, 2);
    const cache = new VmAnswerCache();
    const first = cache.summary(t.store, A, 'a');
    expect(first.total).toBe(1);
    expect(cache.summary(t.store, A, 'a')).toBe(first);

    await ingest(502, 502); // event 502 runs as c2,c502: b's label, not a's
    expect(cache.summary(t.store, A, 'a')).toBe(first);

    await ingest(501, 501); // event 501 runs as c1,c501: a's label
    const second = cache.summary(t.store, A, 'a');
    expect(second).not.toBe(first);
    expect(second.total).toBe(2);

    releaseAllocation(t.store, 'hv1', B, Date.now());
    expect(cache.summary(t.store, A, 'a')).not.toBe(second);
  });

  it('warm computes the VMs given, in order, so their first request is a hit; it stops when told', async () => {
    await ingest(1, 2);
    const vms = listVms(t.store);
    expect(vms.map((v) => v.name).sort()).toEqual(['a', 'b']);

    const cache = new VmAnswerCache();
    expect(await cache.warm(t.store, vms, () => false)).toBe(2);
    const warmed = vms.map((v) => cache.summary(t.store, v.uuid, v.name));
    expect(warmed.map((w) => w.total).sort()).toEqual([1, 1]);
    vms.forEach((v, i) => expect(cache.summary(t.store, v.uuid, v.name)).toBe(warmed[i]));

    let asked = 0;
    const stopping = new VmAnswerCache();
    expect(await stopping.warm(t.store, vms, () => ++asked > 1)).toBe(1);
  });

  it('saves summaries and loads them for the same version and allocations, checked against new denials', async () => {
    await ingest(1, 2);
    const cache = new VmAnswerCache();
    const a = cache.summary(t.store, A, 'a');
    cache.summary(t.store, B, 'b');
    expect(VmAnswerCache.save(t.store, 'v1', [cache.saved()])).toBe(2);

    const loaded = new VmAnswerCache();
    expect(loaded.load(t.store, 'v1')).toBe(2);
    expect(loaded.get(t.store, A, 'summary\u0000a')).toEqual(a);
    expect(new VmAnswerCache().load(t.store, 'v2')).toBe(0); // another version computes anew
    expect(new VmAnswerCache().load(t.store, 'v1', (uuid) => uuid === B)).toBe(1);

    await ingest(501, 501); // a's label: a's saved summary is stale, b's is not
    const afterDenial = new VmAnswerCache();
    expect(afterDenial.load(t.store, 'v1')).toBe(2);
    expect(afterDenial.get(t.store, A, 'summary\u0000a')).toBeUndefined();
    expect(afterDenial.get(t.store, B, 'summary\u0000b')).toBeDefined();
    expect(afterDenial.summary(t.store, A, 'a').total).toBe(2);

    releaseAllocation(t.store, 'hv1', B, Date.now()); // allocations changed: nothing is loaded
    expect(new VmAnswerCache().load(t.store, 'v1')).toBe(0);
  });
});
