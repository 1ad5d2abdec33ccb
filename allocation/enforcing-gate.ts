/**
 * The launch gate asked for in the original sVirt design discussion: an untrusted VM starts
 * only on a host that enforces its confinement. `launch --require-enforcing` and the hook
 * with SVIRT_AUDIT_REQUIRE_ENFORCING=1 refuse otherwise, before anything is relabelled.
 *
 * The state is read from the kernel's own files (selinuxfs `enforce`, AppArmor's module
 * parameter), so the gate needs neither libselinux nor the native addon.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SvirtAuditError } from '../core/errors.js';
import type { SecurityModel } from '../core/allocation.js';

export interface HostFiles {
  /** Where selinuxfs is mounted (default /sys/fs/selinux). */
  selinuxfs?: string;
  /** AppArmor's `enabled` parameter (default /sys/module/apparmor/parameters/enabled). */
  apparmorEnabled?: string;
}

/** The files from the environment (tests point them at their own). */
export function hostFilesFromEnv(env: NodeJS.ProcessEnv): HostFiles {
  return {
    ...(env.SVIRT_AUDIT_SELINUXFS && { selinuxfs: env.SVIRT_AUDIT_SELINUXFS }),
    ...(env.SVIRT_AUDIT_APPARMOR_ENABLED && { apparmorEnabled: env.SVIRT_AUDIT_APPARMOR_ENABLED }),
  };
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** What the host does for `model`: enforcing, permissive, or off. */
export function hostConfinement(model: SecurityModel, files: HostFiles = {}): 'enforcing' | 'permissive' | 'off' {
  if (model === 'selinux') {
    const enforce = read(join(files.selinuxfs ?? '/sys/fs/selinux', 'enforce'));
    return enforce === '1' ? 'enforcing' : enforce === '0' ? 'permissive' : 'off';
  }
  if (model === 'apparmor')
    return read(files.apparmorEnabled ?? '/sys/module/apparmor/parameters/enabled') === 'Y' ? 'enforcing' : 'off';
  return 'off';
}

/** Throws NOT_ENFORCING unless the host enforces `model`. */
export function assertHostEnforces(model: SecurityModel, files: HostFiles = {}): void {
  const state = hostConfinement(model, files);
  if (state === 'enforcing') return;
  const what = model === 'none' ? 'the VM is not confined (model none)' : `${model} is ${state} on this host`;
  throw new SvirtAuditError(
    'NOT_ENFORCING',
    `refusing to start: ${what}, and enforcement is required`,
    model === 'selinux'
      ? 'run setenforce 1 (and SELINUX=enforcing in /etc/selinux/config), or start without the requirement'
      : 'enable the security driver on this host, or start without the requirement',
  );
}
