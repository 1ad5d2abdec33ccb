/**
 * The lab, AppArmor flavour: Debian's default LSM, a VM profile named as libvirt names it
 * (`libvirt-<uuid>`), svirt-audit installed in the guest from `npm pack`, and a real kernel
 * refusing a confined process. Asserted through svirt-audit's own --json output.
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
if (why) console.log(`skipped: the real-hosts lab (AppArmor): ${why}`);

const UUID = '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10';

afterAll(logStageTimes);

describe.runIf(!why)('AppArmor guest', () => {
  const scenario = bootOnceFor('apparmor', ['apparmor-profile.sh', 'apparmor-libvirt.sh']);

  it("a process under the VM's libvirt-<uuid> profile reading a host file: the real denial is apparmor-profile for that VM; svirt-audit itself is refused nothing", () => {
    const run = scenario('apparmor-profile.sh');
    const log = guestLog(run);
    expect(run.files['scenario.log'], log).toMatch(/apparmor enabled: Y/);
    const denials = guestJson<DenialOut[]>(run, 'denials.json');
    expect(denials, log).not.toBeNull();
    const refused = (denials ?? []).filter((d) => (d.target.path ?? d.target.name)?.endsWith('host-secret'));
    expect(refused.length, log).toBeGreaterThan(0);
    for (const d of refused)
      expect(d).toMatchObject({
        model: 'apparmor',
        kind: 'apparmor-profile',
        source: { context: 'libvirt-5b2e9f40-1c3d-4e5f-8a6b-7c8d9e0f1a2b', vm: { name: 'vm-aa' } },
      });
    // The VM's own disk was read without a denial.
    expect(
      (denials ?? []).some((d) => (d.target.path ?? '').endsWith('vm-a.img')),
      log,
    ).toBe(false);
    // svirt-audit's own processes (node) refused nothing.
    expect(run.files['own-avcs.log'], log).toBe('');
    keepAuditLog(run, 'apparmor-profile.audit.log', 'apparmor', 'apparmor-profile.sh');
  });

  it("real libvirtd and QEMU: the guest runs under the libvirt-<uuid> profile the hook recorded; QEMU refused a file outside it is apparmor-profile for that VM, in serve's API within 2 s; svirt-audit itself is refused nothing", () => {
    const run = scenario('apparmor-libvirt.sh');
    const log = `${guestLog(run)}\n${(run.files['journal.txt'] ?? '').slice(-6000)}`;
    expect(run.files['services.txt'], log).toBe('active\nactive\n');
    const profile = `libvirt-${UUID}`;
    // QEMU runs confined by the profile libvirt generated, and the hook recorded that label.
    expect(run.files['qemu-profile.txt'], log).toMatch(new RegExp(`^${profile} \\(enforce\\)`));
    const started = guestJson<AllocationOut[]>(run, 'allocations-started.json') ?? [];
    expect(
      started.filter((a) => a.name === 'vm-aa' && a.endedAt === null),
      log,
    ).toEqual([expect.objectContaining({ model: 'apparmor', label: profile })]);
    // The drive opened behind libvirt's back: refused by the kernel, attributed to vm-aa.
    const outside = (guestJson<DenialOut[]>(run, 'outside.json') ?? []).filter((d) =>
      (d.target.path ?? d.target.name)?.endsWith('outside.img'),
    );
    expect(outside.length, log).toBeGreaterThan(0);
    for (const d of outside)
      expect(d).toMatchObject({
        model: 'apparmor',
        kind: 'apparmor-profile',
        source: { context: profile, vm: { name: 'vm-aa' } },
      });
    const ms = Number(run.files['outside-ms.txt']?.trim());
    console.log(
      `lab: AppArmor denial of a libvirt guest in serve's API after ${ms} ms; QEMU was ${
        run.files['norelabel-ms.txt'] === undefined ? 'allowed' : 'refused'
      } the disk hot-plugged with relabel='no' (libvirt ${
        run.files['norelabel-ms.txt'] === undefined ? 'added it to the profile anyway' : 'left it out of the profile'
      }); AppArmor denials in the guest:\n${run.files['apparmor-denials.log'] ?? ''}`,
    );
    expect(ms, log).toBeLessThan(2000);
    expect(run.files['own-denials.log'], log).toBe('');
    keepAuditLog(run, 'apparmor-libvirt.audit.log', 'apparmor', 'apparmor-libvirt.sh');
  });
});
