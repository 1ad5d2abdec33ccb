/**
 * Audit logs a real kernel wrote in the lab (test/lab, SELinux enforcing), kept as fixtures
 * with their provenance: real sVirt output is read on every `npm test`, also where the lab
 * cannot run.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { allocateLabel } from '../../allocation/allocate.js';
import { queryDenials } from '../../store/denial-query.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const LAB = join(REPO_ROOT, 'test', 'fixtures', 'lab');
let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

describe('logs from the lab', () => {
  it('selinux-cross-vm: the kernel refused svirt_t:s0:c1,c2 reading a c3,c4 image, which is cross-vm from vm-a to vm-b', async () => {
    const log = join(LAB, 'selinux-cross-vm.audit.log');
    expect(readFileSync(`${log}.provenance`, 'utf8')).toMatch(/enforcing: Enforcing/);
    for (const [uuid, name, cats] of [
      ['11111111-2222-4333-8444-555555555555', 'vm-a', 'c1,c2'],
      ['66666666-7777-4888-8999-aaaaaaaaaaaa', 'vm-b', 'c3,c4'],
    ] as const) {
      allocateLabel(t.store, {
        uuid,
        name,
        host: 'lab-selinux',
        model: 'selinux',
        source: 'cli',
        label: `system_u:system_r:svirt_t:s0:${cats}`,
        startedAt: 0,
      });
    }
    const summary = await ingestFiles(t.store, [log], { localHost: 'lab-selinux' });
    expect(summary.unparsed).toBe(0);
    const cross = queryDenials(t.store).filter((d) => d.target.name === 'vm-b.img');
    expect(cross.length).toBeGreaterThan(0);
    for (const d of cross) {
      expect(d.kind).toBe('cross-vm');
      expect(d.source.allocation?.name).toBe('vm-a');
      expect(d.target.allocation?.name).toBe('vm-b');
      expect(d.permissive).toBe(false);
    }
    // The rest are the guest's own boot noise (getty and the lab's plumbing), none attributed.
    expect(
      queryDenials(t.store)
        .filter((d) => d.source.allocation === null)
        .every((d) => d.kind !== 'cross-vm'),
    ).toBe(true);
  });

  it("selinux-libvirt: from the log alone (allocations learned from libvirt's own records) every real denial of the guests gets its kind and its VMs", async () => {
    const log = join(LAB, 'selinux-libvirt.audit.log');
    expect(readFileSync(`${log}.provenance`, 'utf8')).toMatch(/enforcing: Enforcing/);
    const summary = await ingestFiles(t.store, [log], { localHost: 'lab-selinux' });
    expect(summary.unparsed).toBe(0);
    expect(summary.writer.opened).toBe(5); // vm-a, vm-b, vm-c, vm-d twice
    const seen = queryDenials(t.store)
      .filter((d) => d.kind !== 'policy')
      .map((d) => [
        d.kind,
        d.permissive,
        d.source.allocation?.name,
        d.target.allocation?.name ?? null,
        (d.target.name ?? d.target.path)?.replace(/.*\//, ''),
      ]);
    expect(new Set(seen.map((x) => JSON.stringify(x)))).toEqual(
      new Set(
        [
          ['cross-vm', false, 'vm-a', 'vm-b', 'vm-b.img'],
          ['cross-vm', false, 'vm-d', 'vm-b', 'vm-b.img'],
          ['cross-vm', true, 'vm-a', 'vm-b', 'vm-b.img'],
          ['stale-label', false, 'vm-a', null, 'stale.img'],
          ['unlabeled-target', false, 'vm-a', null, 'plain.img'],
        ].map((x) => JSON.stringify(x)),
      ),
    );
  });

  it("selinux-launch: the process launch entered into svirt_t:s0:cX,cY was refused another VM's disk: cross-vm between the two allocations", async () => {
    const log = join(LAB, 'selinux-launch.audit.log');
    expect(readFileSync(`${log}.provenance`, 'utf8')).toMatch(/enforcing: Enforcing/);
    // launch records its allocation in the store, not in the audit log: the test records both as launch and alloc did.
    const refused = /scontext=(system_u:system_r:svirt_t:s0:c\d+,c\d+) tcontext=\S+:s0:c900,c901/.exec(
      readFileSync(log, 'utf8'),
    );
    expect(refused).not.toBeNull();
    for (const [uuid, name, label] of [
      ['0f0f0f0f-1111-4222-8333-444444444444', 'vm-l', refused?.[1] ?? ''],
      ['0e0e0e0e-1111-4222-8333-444444444444', 'vm-o', 'system_u:system_r:svirt_t:s0:c900,c901'],
    ] as const)
      allocateLabel(t.store, { uuid, name, host: 'lab-selinux', model: 'selinux', source: 'cli', label, startedAt: 0 });
    const summary = await ingestFiles(t.store, [log], { localHost: 'lab-selinux' });
    expect(summary.unparsed).toBe(0);
    const cross = queryDenials(t.store).filter((d) => (d.target.name ?? d.target.path)?.endsWith('vm-o.img'));
    expect(cross.length).toBeGreaterThan(0);
    for (const d of cross)
      expect([d.kind, d.source.allocation?.name, d.target.allocation?.name]).toEqual(['cross-vm', 'vm-l', 'vm-o']);
  });

  it("apparmor-libvirt: from the log alone (the allocation learned from libvirt's VIRT_MACHINE_ID, model apparmor) QEMU's real denials are apparmor-profile for vm-aa", async () => {
    const log = join(LAB, 'apparmor-libvirt.audit.log');
    expect(readFileSync(`${log}.provenance`, 'utf8')).toMatch(/apparmor 3\./);
    const summary = await ingestFiles(t.store, [log], { localHost: 'lab-apparmor' });
    expect(summary.unparsed).toBe(0);
    expect(summary.writer.opened).toBe(1);
    const denials = queryDenials(t.store);
    expect(denials.length).toBeGreaterThan(0);
    for (const d of denials)
      expect([d.kind, d.model, d.source.allocation?.name, d.source.allocation?.source, d.target.name]).toEqual([
        'apparmor-profile',
        'apparmor',
        'vm-aa',
        'audit',
        '/srv/disks/outside.img',
      ]);
  });

  it('apparmor-profile: the kernel refused libvirt-<uuid> a host file; the denial is apparmor-profile for that VM', async () => {
    const log = join(LAB, 'apparmor-profile.audit.log');
    expect(readFileSync(`${log}.provenance`, 'utf8')).toMatch(/apparmor 3\./);
    const uuid = '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10';
    allocateLabel(t.store, {
      uuid,
      name: 'vm-aa',
      host: 'lab-apparmor',
      model: 'apparmor',
      source: 'cli',
      label: `libvirt-${uuid}`,
      startedAt: 0,
    });
    const summary = await ingestFiles(t.store, [log], { localHost: 'lab-apparmor' });
    expect(summary.unparsed).toBe(0);
    const denials = queryDenials(t.store);
    expect(denials.map((d) => [d.kind, d.source.allocation?.name, d.target.name])).toEqual([
      ['apparmor-profile', 'vm-aa', '/root/host-secret'],
    ]);
  });
});
