/** `svirt-audit launch … -- CMD ARGS`: allocate, relabel, set the exec context, exec CMD in place. */

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SvirtAuditError } from '../../core/errors.js';
import { hostFilesFromEnv } from '../../allocation/enforcing-gate.js';
import { loadLabelBases } from '../../allocation/label-bases.js';
import { type LaunchDisk, prepareLaunch } from '../../launch/launcher.js';
import { loadNative } from '../../native/index.js';
import { type CommonOptions, localHost, openCommandStore } from '../command-context.js';
import type { CliIo } from '../io.js';

interface LaunchOptions extends CommonOptions {
  uuid: string;
  vm: string;
  model: 'auto' | 'selinux' | 'apparmor' | 'none';
  disk?: LaunchDisk[];
  backingDir?: string[];
  requireEnforcing?: boolean;
  tcg?: boolean;
}

function resolveCommand(file: string, pathVar: string | undefined): string {
  if (file.includes('/')) return file;
  for (const dir of (pathVar ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, file);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new SvirtAuditError('BAD_INPUT', `${file} is not on PATH`, 'give the command with its full path');
}

export function run(options: LaunchOptions, command: string[], io: CliIo): number {
  if (command.length === 0)
    throw new SvirtAuditError(
      'BAD_INPUT',
      'no command to launch',
      'put it after --, e.g. -- /usr/bin/qemu-system-x86_64 -name web1 …',
    );
  const file = resolveCommand(command[0] as string, io.env.PATH);
  const native = loadNative();
  const request = {
    uuid: options.uuid,
    name: options.vm,
    host: localHost(options),
    model: options.model,
    disks: options.disk ?? [],
    tcg: options.tcg ?? false,
    bases: loadLabelBases(io.env.SVIRT_AUDIT_SELINUX_ROOT),
    backingDirs: options.backingDir ?? [],
    ...(options.requireEnforcing && { requireEnforcing: { files: hostFilesFromEnv(io.env) } }),
    pid: process.pid,
  };
  const store = openCommandStore(options, io);
  const prepared = (() => {
    try {
      return prepareLaunch(store, native, request);
    } finally {
      // Close before exec: nothing of ours may leak into QEMU.
      store.close();
    }
  })();
  for (const disk of prepared.leftUnlabelled)
    io.stderr.write(`svirt-audit launch: warning: ${disk.path}: ${disk.error}\n`);
  const env = Object.fromEntries(Object.entries(io.env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  try {
    native.execve(file, command, env);
  } catch (error) {
    const again = openCommandStore(options, io);
    try {
      prepared.undo(again);
    } finally {
      again.close();
    }
    throw new SvirtAuditError(
      'LAUNCH_FAILED',
      `cannot exec ${file}: ${(error as Error).message}`,
      'the disks were restored and the allocation released',
    );
  }
  return 0;
}
