/**
 * Reaping closes what `launch` started once its QEMU is gone; it leaves libvirt's guests
 * alone, whose QEMU may start seconds after the hook recorded them (seen in the lab).
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allocateLabel } from '../../allocation/allocate.js';
import { reapAllocations } from '../../launch/reap.js';
import { loadNative } from '../../native/index.js';
import { listAllocations } from '../../store/allocations.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

// This test process started well after time 0: to the reaper, its pid is one reused since.
const record = (uuid: string, name: string, source: 'hook' | 'launch', categories: string) =>
  allocateLabel(t.store, {
    uuid,
    name,
    host: 'hv1',
    model: 'selinux',
    source,
    label: `system_u:system_r:svirt_t:s0:${categories}`,
    startedAt: 0,
    pid: process.pid,
  });

describe('reap', () => {
  it("closes a launched VM's allocation whose pid is not its QEMU, and never a libvirt guest's", () => {
    record('11111111-1111-4111-8111-111111111111', 'launched', 'launch', 'c1,c2');
    record('22222222-2222-4222-8222-222222222222', 'libvirt-guest', 'hook', 'c3,c4');
    const reaped = reapAllocations(t.store, loadNative(), 'hv1', 1000);
    expect(reaped.map((o) => o.allocation.name)).toEqual(['launched']);
    const open = listAllocations(t.store, { openOnly: true }).map((a) => a.name);
    expect(open).toEqual(['libvirt-guest']);
  });
});
