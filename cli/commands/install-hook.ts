/** `svirt-audit install-hook`: write the libvirt hook script. */

import { hostFilesFromEnv } from '../../allocation/enforcing-gate.js';
import { allowHookUnderAppArmor } from '../../libvirt-hook/apparmor-hook-rule.js';
import { type HookStyle, hookCommand, installHook, labelHookForLibvirt } from '../../libvirt-hook/install-hook.js';
import { type CommonOptions, databasePath } from '../command-context.js';
import type { CliIo } from '../io.js';

interface InstallHookCliOptions extends CommonOptions {
  dir: string;
  style: HookStyle;
  strict?: boolean;
  requireEnforcing?: boolean;
  force?: boolean;
}

export function run(options: InstallHookCliOptions, _args: string[], io: CliIo): number {
  const path = installHook({
    hooksDir: options.dir,
    style: options.style,
    dbPath: databasePath(options, io),
    strict: options.strict ?? false,
    requireEnforcing: options.requireEnforcing ?? false,
    force: options.force ?? false,
  });
  const files = hostFilesFromEnv(io.env);
  // What libvirtd's own confinement needs to run the hook: a label (SELinux), a rule (AppArmor).
  const notes = [
    labelHookForLibvirt(path, files),
    allowHookUnderAppArmor(hookCommand({})[0] as string, {
      ...files,
      ...(io.env.SVIRT_AUDIT_APPARMOR_DIR && { apparmorDir: io.env.SVIRT_AUDIT_APPARMOR_DIR }),
    }),
  ].filter((n): n is string => n !== undefined);
  io.stdout.write(
    `wrote ${path}\n${notes.map((n) => `${n}\n`).join('')}libvirtd reads hooks when it starts: restart it, or send it SIGHUP (systemctl reload libvirtd)\n`,
  );
  return notes.some((n) => n.startsWith('could not')) ? 1 : 0;
}
