/** `svirt-audit install-hook`: write the libvirt hook script. */

import { hostFilesFromEnv } from '../../allocation/enforcing-gate.js';
import { type HookStyle, installHook, labelHookForLibvirt } from '../../libvirt-hook/install-hook.js';
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
  const label = labelHookForLibvirt(path, hostFilesFromEnv(io.env));
  io.stdout.write(
    `wrote ${path}\n${label ? `${label}\n` : ''}libvirtd reads hooks when it starts: restart it, or send it SIGHUP (systemctl reload libvirtd)\n`,
  );
  return label?.startsWith('could not') ? 1 : 0;
}
