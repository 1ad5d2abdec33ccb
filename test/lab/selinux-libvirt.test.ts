/**
 * The lab, SELinux flavour, under a real libvirtd: its own file, so that this longest
 * scenario runs beside the others (test/lab/selinux.test.ts). Asserted through
 * svirt-audit's own --json output and serve's API from inside the guest.
 */

import { afterAll, describe, expect, it } from 'vitest';
import {
  guestImage,
  guestJson,
  guestLog,
  installedPackage,
  keepAuditLog,
  labUnavailable,
  runScenario,
  logStageTimes,
  type AllocationOut,
  type DenialOut,
} from './guest-lab.js';

const why = labUnavailable();
if (why) console.log(`skipped: the real-hosts lab: ${why}`);

afterAll(logStageTimes);

describe.runIf(!why)('SELinux enforcing guest under libvirt', () => {
  it('real libvirtd and QEMU: the labels libvirt gives are recorded; cross-vm, unlabeled-target, stale-label, permissive and learned allocations from real AVCs, live; svirt-audit itself is refused nothing', async () => {
    const run = await runScenario(guestImage('selinux'), 'selinux', 'selinux-libvirt.sh', installedPackage());
    const log = `${guestLog(run)}\n${(run.files['journal.txt'] ?? '').slice(-6000)}`;
    expect(run.files['services.txt'], log).toBe('active\nactive\n');

    // 1. The labels libvirt gave (virsh dominfo) are the ones the hook recorded.
    const dominfo = run.files['dominfo.txt'] ?? '';
    const labelOf = (vm: string): string | undefined =>
      new RegExp(`Name: +${vm}\\n(?:.*\\n)*?Security label: +(\\S+)`).exec(dominfo)?.[1];
    const started = guestJson<AllocationOut[]>(run, 'allocations-started.json') ?? [];
    for (const vm of ['vm-a', 'vm-b']) {
      const label = labelOf(vm);
      // TCG guests (nested here) run as svirt_tcg_t, KVM ones as svirt_t.
      expect(label, log).toMatch(/^system_u:system_r:svirt(_tcg)?_t:s0:c\d+,c\d+$/);
      expect(run.files['ps-z.txt'], log).toContain(label);
      // One open allocation with that label. libvirt logs VIRT_MACHINE_ID ~0.4 s before it
      // calls the `start` hook: whichever serve or the hook stores first opens it, the other
      // finds it open (source printed below).
      const open = started.filter((a) => a.name === vm && a.endedAt === null);
      expect(open, log).toEqual([expect.objectContaining({ label })]);
      console.log(`lab: ${vm}'s allocation recorded by ${open.map((a) => a.source).join(', ')}`);
    }

    // 2–4: each real AVC, found in the store serve writes, with the right kind and VMs.
    const denialsOn = (file: string, name: string): DenialOut[] =>
      (guestJson<DenialOut[]>(run, file) ?? []).filter((d) => (d.target.path ?? d.target.name)?.endsWith(name));
    const cross = denialsOn('cross-vm.json', 'vm-b.img');
    expect(cross.length, log).toBeGreaterThan(0);
    expect(cross[0]).toMatchObject({
      kind: 'cross-vm',
      permissive: false,
      source: { context: labelOf('vm-a'), vm: { name: 'vm-a' } },
      target: { vm: { name: 'vm-b' } },
    });
    const unlabeled = denialsOn('unlabeled.json', 'plain.img');
    expect(unlabeled[0], log).toMatchObject({ kind: 'unlabeled-target', source: { vm: { name: 'vm-a' } } });
    const stale = denialsOn('stale.json', 'stale.img');
    expect(stale[0], log).toMatchObject({ kind: 'stale-label', source: { vm: { name: 'vm-a' } } });

    // 5. Permissive: the same access is allowed and logged as permissive, still cross-vm.
    const permissive = denialsOn('permissive.json', 'vm-b.img').filter((d) => d.permissive);
    expect(permissive[0], log).toMatchObject({ kind: 'cross-vm', source: { vm: { name: 'vm-a' } } });

    // 6. A start the hook did not see is learned from libvirt's records and attributed; after
    // the hook is back and the guest restarts, one allocation per start, no overlap.
    const learned = (guestJson<DenialOut[]>(run, 'learned.json') ?? []).filter((d) => d.source.vm?.name === 'vm-d');
    expect(learned[0], log).toMatchObject({ kind: 'cross-vm', target: { vm: { name: 'vm-b' } } });
    const learnedAlloc = guestJson<AllocationOut[]>(run, 'allocations-learned.json') ?? [];
    expect(
      learnedAlloc.map((a) => a.source),
      log,
    ).toEqual(['audit']);
    const restarted = guestJson<AllocationOut[]>(run, 'allocations-restarted.json') ?? [];
    expect(restarted.length, log).toBe(2);
    expect(restarted.filter((a) => a.endedAt === null).length, log).toBe(1);
    const dLabel = /Security label: +(\S+)/.exec(run.files['dominfo-d.txt'] ?? '')?.[1];
    expect(restarted.find((a) => a.endedAt === null)?.label, log).toBe(dLabel);

    // 9. The report over the incident verifies.
    expect(run.files['verify.txt'], log).toMatch(/^ok: .*is unaltered \(json;/);

    // Each denial in serve's answer within 2 s of the kernel's record of it (its audit time).
    const times = ['cross-vm', 'unlabeled', 'stale', 'learned', 'permissive'].map(
      (s) => [s, Number(run.files[`${s}-ms.txt`]?.trim())] as const,
    );
    console.log(
      `lab: libvirt guest denials in serve's API after: ${times.map(([s, ms]) => `${s} ${ms} ms`).join(', ')}`,
    );
    for (const [step, ms] of times) expect(ms, `${step}: ${ms} ms\n${log}`).toBeLessThan(2000);
    console.log(`lab: AVCs of other sources than the guests' QEMU:\n${run.files['other-avcs.log'] ?? ''}`);
    expect(run.files['own-avcs.log'], log).toBe('');
    keepAuditLog(run, 'selinux-libvirt.audit.log', 'selinux', 'selinux-libvirt.sh');
  }, 1_200_000);
});
