import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CategorySet } from '../../core/category-set.js';
import type { SvirtAuditError } from '../../core/errors.js';
import { allocateLabel, releaseAllocation } from '../../allocation/allocate.js';
import { DEFAULT_LABEL_BASES } from '../../allocation/label-bases.js';
import { recordRelabel } from '../../allocation/relabel-record.js';
import { listAllocations } from '../../store/allocations.js';
import { listRelabels } from '../../store/relabels.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const WEB1 = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
const DB1 = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';
const DB2 = '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10';

let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as SvirtAuditError).code;
  }
}

describe('allocateLabel', () => {
  it('allocates a libvirt-style pair with matching process and image labels', () => {
    const { allocation, created } = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
    });
    expect(created).toBe(true);
    expect(allocation.label).toMatch(/^system_u:system_r:svirt_t:s0:c\d+,c\d+$/);
    expect(allocation.imageLabel).toBe(allocation.label?.replace('system_r:svirt_t', 'object_r:svirt_image_t'));
    expect(allocation.categories).toBe(allocation.label?.split(':s0:')[1]);
    expect(allocation.endedAt).toBeNull();
  });

  it('uses svirt_tcg_t with --tcg and the bases it is given', () => {
    const bases = { ...DEFAULT_LABEL_BASES, tcgDomain: 'system_u:system_r:svirt_tcg_t:s0' };
    const { allocation } = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      tcg: true,
      bases,
      range: CategorySet.parse('c800.c899'),
    });
    expect(allocation.label).toMatch(/^system_u:system_r:svirt_tcg_t:s0:c8\d\d,c8\d\d$/);
  });

  it('is idempotent for a VM with an open allocation, and --new replaces it', () => {
    const first = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      startedAt: 1000,
    });
    const again = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      startedAt: 2000,
    });
    expect(again.created).toBe(false);
    expect(again.allocation.id).toBe(first.allocation.id);
    const fresh = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      startedAt: 3000,
      forceNew: true,
    });
    expect(fresh.created).toBe(true);
    const all = listAllocations(t.store, { uuid: WEB1 });
    expect(all.map((a) => a.endedAt)).toEqual([null, 3000]);
  });

  it('records a static label as given and refuses it while another VM holds it, naming the holder', () => {
    const label = 'system_u:system_r:svirt_t:s0:c10,c20';
    allocateLabel(t.store, { uuid: DB1, name: 'db1', host: 'hv1', model: 'selinux', source: 'cli', label });
    expect(() =>
      allocateLabel(t.store, { uuid: DB2, name: 'db2', host: 'hv1', model: 'selinux', source: 'cli', label }),
    ).toThrow(/held by VM db1/);
    // The kernel's spelling of the same set clashes too.
    expect(
      codeOf(() =>
        allocateLabel(t.store, {
          uuid: DB2,
          name: 'db2',
          host: 'hv1',
          model: 'selinux',
          source: 'cli',
          label: 'system_u:system_r:svirt_t:s0:c20,c10',
        }),
      ),
    ).toBe('ALLOCATION_CONFLICT');
    // A subset does not clash, and another host is another namespace.
    allocateLabel(t.store, {
      uuid: DB2,
      name: 'db2',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label: 'system_u:system_r:svirt_t:s0:c10',
    });
    allocateLabel(t.store, { uuid: WEB1, name: 'web1', host: 'hv2', model: 'selinux', source: 'cli', label });
    expect(listAllocations(t.store)).toHaveLength(3);
  });

  it('refuses an imported allocation whose interval overlaps an earlier holder of the set', () => {
    const label = 'system_u:system_r:svirt_t:s0:c1,c2';
    allocateLabel(t.store, {
      uuid: DB1,
      name: 'db1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label,
      startedAt: 1000,
    });
    releaseAllocation(t.store, 'hv1', DB1, 5000);
    expect(
      codeOf(() =>
        allocateLabel(t.store, {
          uuid: DB2,
          name: 'db2',
          host: 'hv1',
          model: 'selinux',
          source: 'cli',
          label,
          startedAt: 4000,
        }),
      ),
    ).toBe('ALLOCATION_CONFLICT');
    // Starting exactly when the other ended is fine: intervals are [start, end).
    const ok = allocateLabel(t.store, {
      uuid: DB2,
      name: 'db2',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label,
      startedAt: 5000,
    });
    expect(ok.created).toBe(true);
  });

  it('never hands out a pair that an open allocation holds', () => {
    const range = CategorySet.parse('c0.c3'); // 6 pairs
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const uuid = `00000000-0000-0000-0000-00000000000${i}`;
      seen.add(
        allocateLabel(t.store, { uuid, name: `vm${i}`, host: 'hv1', model: 'selinux', source: 'cli', range }).allocation
          .categories,
      );
    }
    expect(seen.size).toBe(6);
    expect(
      codeOf(() =>
        allocateLabel(t.store, { uuid: WEB1, name: 'web1', host: 'hv1', model: 'selinux', source: 'cli', range }),
      ),
    ).toBe('RANGE_EXHAUSTED');
    releaseAllocation(t.store, 'hv1', '00000000-0000-0000-0000-000000000003');
    expect(
      allocateLabel(t.store, { uuid: WEB1, name: 'web1', host: 'hv1', model: 'selinux', source: 'cli', range }).created,
    ).toBe(true);
  });

  it('apparmor and none models', () => {
    const aa = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'apparmor',
      source: 'cli',
    }).allocation;
    expect(aa.label).toBe(`libvirt-${WEB1}`);
    expect(aa.imageLabel).toBe(`libvirt-${WEB1}`);
    expect(aa.categories).toBe('');
    const none = allocateLabel(t.store, {
      uuid: DB1,
      name: 'db1',
      host: 'hv1',
      model: 'none',
      source: 'cli',
    }).allocation;
    expect(none.label).toBeNull();
  });
});

describe('releaseAllocation and recordRelabel', () => {
  it('release ends the open allocation; an unknown uuid changes nothing', () => {
    allocateLabel(t.store, { uuid: WEB1, name: 'web1', host: 'hv1', model: 'selinux', source: 'cli', startedAt: 1000 });
    const before = listAllocations(t.store);
    expect(codeOf(() => releaseAllocation(t.store, 'hv1', DB1))).toBe('NO_OPEN_ALLOCATION');
    expect(listAllocations(t.store)).toEqual(before);
    expect(codeOf(() => releaseAllocation(t.store, 'hv1', WEB1, 500))).toBe('BAD_INPUT');
    expect(releaseAllocation(t.store, 'hv1', WEB1, 9000).endedAt).toBe(9000);
    expect(codeOf(() => releaseAllocation(t.store, 'hv1', WEB1))).toBe('NO_OPEN_ALLOCATION');
  });

  it('records relabels and restores against the open allocation, and refuses without one', () => {
    const { allocation } = allocateLabel(t.store, {
      uuid: WEB1,
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
    });
    recordRelabel(t.store, {
      host: 'hv1',
      uuid: WEB1,
      path: '/img/a.qcow2',
      from: 'system_u:object_r:virt_image_t:s0',
      to: allocation.imageLabel,
      action: 'relabel',
      error: null,
      at: 10,
    });
    recordRelabel(t.store, {
      host: 'hv1',
      uuid: WEB1,
      path: '/img/b.qcow2',
      from: 'system_u:object_r:nfs_t:s0',
      to: allocation.imageLabel,
      action: 'relabel',
      error: 'Operation not supported',
      at: 11,
    });
    recordRelabel(t.store, {
      host: 'hv1',
      uuid: WEB1,
      path: '/img/a.qcow2',
      from: allocation.imageLabel,
      to: 'system_u:object_r:virt_image_t:s0',
      action: 'restore',
      error: null,
      at: 12,
    });
    const rows = listRelabels(t.store, allocation.id);
    expect(rows.map((r) => [r.path, r.action, r.error])).toEqual([
      ['/img/a.qcow2', 'relabel', null],
      ['/img/b.qcow2', 'relabel', 'Operation not supported'],
      ['/img/a.qcow2', 'restore', null],
    ]);
    expect(
      codeOf(() =>
        recordRelabel(t.store, {
          host: 'hv1',
          uuid: DB1,
          path: '/x',
          from: 'a',
          to: 'b',
          action: 'relabel',
          error: null,
        }),
      ),
    ).toBe('NO_OPEN_ALLOCATION');
  });
});
