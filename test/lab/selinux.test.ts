/**
 * The lab, SELinux flavour: a Debian guest with selinux-policy-default enforcing, svirt-audit
 * installed in it from `npm pack`, and a real kernel refusing a confined process. Asserted
 * through svirt-audit's own --json output from inside the guest.
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

describe.runIf(!why)('SELinux enforcing guest', () => {
  it("a confined process reading another VM's disk: the real AVC is cross-vm, from vm-a to vm-b; svirt-audit itself is refused nothing", async () => {
    const image = guestImage('selinux');
    const pkg = installedPackage();
    const run = await runScenario(image, 'selinux', 'selinux-cross-vm.sh', pkg);
    const log = guestLog(run);
    expect(run.files['boot.log'], log).toMatch(/enforcing: Enforcing/);
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
  }, 900_000);

  it('launch without libvirt: the enforcing gate, real relabels, a real exec into svirt_t:s0:cX,cY in place, its denial attributed to it, reap restoring every label', async () => {
    const run = await runScenario(guestImage('selinux'), 'selinux', 'selinux-launch.sh', installedPackage());
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
  }, 900_000);

  it('serve under the shipped systemd unit collects live: the denial is stored, attributed, within seconds; serve is refused nothing', async () => {
    const run = await runScenario(guestImage('selinux'), 'selinux', 'selinux-serve.sh', installedPackage());
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
  }, 900_000);
});
