/**
 * The lab, AppArmor flavour: Debian's default LSM, a VM profile named as libvirt names it
 * (`libvirt-<uuid>`), svirt-audit installed in the guest from `npm pack`, and a real kernel
 * refusing a confined process. Asserted through svirt-audit's own --json output.
 */

import { describe, expect, it } from 'vitest';
import {
  guestImage,
  guestJson,
  guestLog,
  installedPackage,
  keepAuditLog,
  labUnavailable,
  runScenario,
} from './guest-lab.js';

const why = labUnavailable();
if (why) console.log(`skipped: the real-hosts lab (AppArmor): ${why}`);

interface DenialOut {
  kind: string;
  model: string;
  source: { context: string; vm: { name: string } | null };
  target: { path: string | null; name: string | null };
}

describe.runIf(!why)('AppArmor guest', () => {
  it("a process under the VM's libvirt-<uuid> profile reading a host file: the real denial is apparmor-profile for that VM; svirt-audit itself is refused nothing", async () => {
    const run = await runScenario(guestImage('apparmor'), 'apparmor', 'apparmor-profile.sh', installedPackage());
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
        source: { context: 'libvirt-8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10', vm: { name: 'vm-aa' } },
      });
    // The VM's own disk was read without a denial.
    expect(
      (denials ?? []).some((d) => (d.target.path ?? '').endsWith('vm-a.img')),
      log,
    ).toBe(false);
    // svirt-audit's own processes (node) refused nothing.
    expect(run.files['own-avcs.log'], log).toBe('');
    keepAuditLog(run, 'apparmor-profile.audit.log', 'apparmor', 'apparmor-profile.sh');
  }, 900_000);
});
