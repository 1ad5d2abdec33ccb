/**
 * On an AppArmor host, libvirtd runs under its own profile (Debian and Ubuntu ship
 * /etc/apparmor.d/usr.sbin.libvirtd), which lets it run the hook scripts under
 * /etc/libvirt/hooks but not a program they exec from elsewhere: our hook then fails with
 * status 126 and libvirt refuses every VM start (found in the lab, test/lab). The profile
 * includes local/usr.sbin.libvirtd for site additions; one rule there lets libvirtd run our
 * program under its own profile if one is loaded, else unconfined (PUx, as the profile
 * runs /usr/bin/*), and a reload of the profile applies it.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HostFiles, hostConfinement } from '../allocation/enforcing-gate.js';
import { shellQuote } from '../core/shell-quote.js';

const BEGIN = '# svirt-audit libvirt hook: begin (written by `svirt-audit install-hook`; rerun it rather than editing)';
const END = '# svirt-audit libvirt hook: end';

/** Characters AppArmor reads as globs or that would end the rule: a program path with them is not written. */
const UNSAFE_IN_RULE = /["\n\r\0*?[\]{}^,]/;

export interface AppArmorFiles extends HostFiles {
  /** Where the profiles are (default /etc/apparmor.d). */
  apparmorDir?: string;
}

/** The rule for `program`, or undefined when its path cannot be written as one. */
export function hookRule(program: string): string | undefined {
  if (UNSAFE_IN_RULE.test(program)) return undefined;
  return `${/\s/.test(program) ? `"${program}"` : program} PUx,`;
}

/** `text` with our block replaced by (or, when absent, followed by) one holding `rule`. */
export function withHookRule(text: string, rule: string): string {
  const block = `${BEGIN}\n${rule}\n${END}\n`;
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start >= 0 && end > start) return text.slice(0, start) + block + text.slice(end + END.length).replace(/^\n/, '');
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${block}`;
}

/**
 * Let libvirtd run `program` (the first word of the hook's command). Returns what to tell
 * the admin, or undefined where AppArmor is off or libvirtd has no profile. A message
 * starting with "could not" means VM starts will fail until the admin acts on it.
 */
export function allowHookUnderAppArmor(program: string, files: AppArmorFiles = {}): string | undefined {
  if (hostConfinement('apparmor', files) === 'off') return undefined;
  const dir = files.apparmorDir ?? '/etc/apparmor.d';
  const profile = join(dir, 'usr.sbin.libvirtd');
  if (!existsSync(profile)) return undefined;
  // AppArmor matches the path after symlinks are resolved.
  const real = existsSync(program) ? realpathSync(program) : program;
  const rule = hookRule(real);
  const local = join(dir, 'local', 'usr.sbin.libvirtd');
  if (rule === undefined)
    return `could not allow it under libvirtd's AppArmor profile: the path ${JSON.stringify(real)} has characters AppArmor reads as patterns; libvirtd may not run it and then refuses every VM start: install svirt-audit under a plain path`;
  try {
    mkdirSync(join(dir, 'local'), { recursive: true, mode: 0o755 });
    const before = existsSync(local) ? readFileSync(local, 'utf8') : '';
    const tmp = `${local}.tmp-${process.pid}`;
    writeFileSync(tmp, withHookRule(before, rule), { mode: 0o644 });
    renameSync(tmp, local);
  } catch (error) {
    return `could not add "${rule}" to ${local} (${(error as Error).message}): libvirtd may not run the hook and then refuses every VM start; add that line and run: apparmor_parser -r ${shellQuote(profile)}`;
  }
  const reload = spawnSync('apparmor_parser', ['-r', profile], { encoding: 'utf8' });
  if (reload.status === 0) return `allowed libvirtd to run ${real} (${local}, profile reloaded)`;
  return `could not reload libvirtd's profile after adding "${rule}" to ${local} (${(reload.stderr || reload.error?.message || 'apparmor_parser failed').trim()}): libvirtd may not run the hook until it is; run: apparmor_parser -r ${shellQuote(profile)}`;
}
