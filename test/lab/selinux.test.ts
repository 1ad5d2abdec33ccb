/**
 * The lab, SELinux flavour: a Debian guest with selinux-policy-default enforcing, svirt-audit
 * installed in it from `npm pack`, and a real kernel refusing confined processes: without
 * libvirt, then under a real libvirtd. One boot runs the four scenarios in turn. Asserted
 * through svirt-audit's own --json output and serve's API from inside the guest.
 */

import { afterAll, describe, expect, it } from 'vitest';
import {
  bootOnceFor,
  guestJson,
  guestLog,
  keepAuditLog,
  labUnavailable,
  logStageTimes,
  type AllocationOut,
  type DenialOut,
} from './guest-lab.js';

const why = labUnavailable();
if (why) console.log(`skipped: the real-hosts lab: ${why}`);

afterAll(logStageTimes);

describe.runIf(!why)('SELinux enforcing guest', () => {
  const scenario = bootOnceFor('selinux', [
    'selinux-cross-vm.sh',
    'selinux-serve.sh',
    'selinux-libvirt.sh',
    // After libvirt's scenario, which installed svirt-audit's policy module (a policy build
    // of half a minute under TCG): launch finds it installed.
    'selinux-launch.sh',
  ]);

  it("a confined process reading another VM's disk: the real AVC is cross-vm, from vm-a to vm-b; svirt-audit itself is refused nothing", () => {
    const run = scenario('selinux-cross-vm.sh');
    const log = guestLog(run);
    expect(run.boot, log).toMatch(/enforcing: Enforcing/);
    const denials = guestJson<DenialOut[]>(run, 'denials.json');
    expect(denials, log).not.toBeNull();
    // The kernel names the file (name=), not always its path.
    const cross = (denials ?? []).filter((d) => (d.target.path ?? d.target.name)?.endsWith('vm-b.img'));
    expect(cross.length, log).toBeGreaterThan(0);
    for (const d of cross) {
      expect(d).toMatchObject({
        kind: 'cross-vm',
        permissive: false,
        source: { context: 'system_u:system_r:svirt_t:s0:c1,c2', vm: { name: 'vm-a' } },
        target: { context: 'system_u:object_r:svirt_image_t:s0:c3,c4', vm: { name: 'vm-b' } },
      });
    }
    // svirt-audit's own processes (node) refused nothing.
    expect(run.files['own-avcs.log'], log).toBe('');
    // The launch gate on a real kernel: refused while permissive, allowed once enforcing.
    expect(run.files['gate-permissive.txt'], log).toMatch(/refusing to start: selinux is permissive[^]*exit 1\n$/);
    expect(run.files['gate-enforcing.txt'], log).toBe('exit 0\n');
    // The incident report over it: verifiable, and stating the host enforced at the denial.
    expect(run.files['verify.txt'], log).toMatch(/^ok: .*is unaltered \(json;/);
    const report = guestJson<{ report: { enforcing: { periods: { enforcing: boolean | null }[] }[] } }>(
      run,
      'report.json',
    );
    const periods = report?.report.enforcing.flatMap((e) => e.periods) ?? [];
    expect(periods.at(-1)?.enforcing, log).toBe(true);
    keepAuditLog(run, 'selinux-cross-vm.audit.log', 'selinux', 'selinux-cross-vm.sh');
  });

  it('launch without libvirt: the enforcing gate, real relabels, a real exec into svirt_t:s0:cX,cY in place, its denial attributed to it, reap restoring every label', () => {
    const run = scenario('selinux-launch.sh');
    const log = guestLog(run);
    // The command runs in place (the pid launch was started as) in the VM's own context.
    const context = run.files['launch-context.txt']?.trim() ?? '';
    expect(context, log).toMatch(/^system_u:system_r:svirt_t:s0:c\d+,c\d+$/);
    expect(run.files['launch-cmdline.txt'], log).toMatch(/^\/usr\/local\/bin\/qemu-tail -f /);
    expect(run.files['ps-z.txt'], log).toContain(context);
    const categories = context.replace(/.*:s0:/, '');
    const labelOf = (file: string, name: string) =>
      new RegExp(`^ *(\\S+) +${name}$`, 'm').exec(run.files[file] ?? '')?.[1];
    // The gate: while the host was permissive, launch --require-enforcing refused (exit 3),
    // relabelled nothing and recorded nothing; once enforcing, the same option let it start.
    expect(run.files['gate-permissive.txt'], log).toMatch(/refusing to start: selinux is permissive[^]*exit 3\n$/);
    expect(labelOf('gate-z.txt', 'vm-l.img'), log).toBe(labelOf('before-z.txt', 'vm-l.img'));
    expect(
      (guestJson<AllocationOut[]>(run, 'allocations.json') ?? []).some((a) => a.name === 'vm-g'),
      log,
    ).toBe(false);
    // Its disk relabelled for real while it ran, and restored by reap after it ended.
    expect(labelOf('during-z.txt', 'vm-l.img'), log).toBe(`system_u:object_r:svirt_image_t:s0:${categories}`);
    expect(labelOf('after-z.txt', 'vm-l.img'), log).toBe(labelOf('before-z.txt', 'vm-l.img'));
    expect(labelOf('before-z.txt', 'vm-l.img'), log).toMatch(/:virt_image_t:s0$/);
    // The kernel refused it the other VM's disk: cross-vm, from vm-l to vm-o.
    const denials = (guestJson<DenialOut[]>(run, 'denials.json') ?? []).filter((d) =>
      (d.target.path ?? d.target.name)?.endsWith('vm-o.img'),
    );
    expect(denials.length, log).toBeGreaterThan(0);
    expect(denials[0], log).toMatchObject({
      kind: 'cross-vm',
      permissive: false,
      source: { context, vm: { name: 'vm-l' } },
      target: { vm: { name: 'vm-o' } },
    });
    // reap closed the allocation once the process was gone.
    const launched = (guestJson<AllocationOut[]>(run, 'allocations.json') ?? []).filter((a) => a.name === 'vm-l');
    expect(launched, log).toEqual([expect.objectContaining({ source: 'launch', label: context })]);
    expect(launched[0]?.endedAt, log).not.toBeNull();
    console.log(
      `lab: launch ran its command as ${context}; AVCs of other sources:\n${run.files['other-avcs.log'] ?? ''}`,
    );
    expect(run.files['own-avcs.log'], log).toBe('');
    keepAuditLog(run, 'selinux-launch.audit.log', 'selinux', 'selinux-launch.sh');
  });

  it('serve under the shipped systemd unit collects live: the denial is stored, attributed, within seconds; serve is refused nothing', () => {
    const run = scenario('selinux-serve.sh');
    const log = `${guestLog(run)}\n${run.files['serve-journal.txt'] ?? ''}`;
    expect(run.files['serve-active.txt'], log).toBe('active\n');
    const denials = guestJson<DenialOut[]>(run, 'denials.json') ?? [];
    const live = denials.filter((d) => (d.target.path ?? d.target.name)?.endsWith('other.img'));
    expect(live.length, log).toBeGreaterThan(0);
    expect(live[0], log).toMatchObject({
      source: { context: 'system_u:system_r:svirt_t:s0:c1,c2', vm: { name: 'vm-a' } },
      target: { context: 'system_u:object_r:svirt_image_t:s0:c7,c8' },
    });
    const seenAfterMs = Number(run.files['seen-after-ms.txt']?.trim());
    console.log(
      `lab: serve stored the live denial ${seenAfterMs} ms after it happened (including the CLI's own start-up per poll); serve ran as ${run.files['serve-context.txt']?.trim()}`,
    );
    expect(run.files['own-avcs.log'], log).toBe('');
  });

  it('real libvirtd and QEMU: the labels libvirt gives are recorded; cross-vm, unlabeled-target, stale-label, permissive and learned allocations from real AVCs, live; svirt-audit itself is refused nothing', () => {
    const run = scenario('selinux-libvirt.sh');
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
  });
});
