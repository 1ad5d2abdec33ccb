/**
 * Writing the libvirt hook script. libvirt runs `/etc/libvirt/hooks/qemu` (one script) or,
 * since libvirt 6.5, every executable in `/etc/libvirt/hooks/qemu.d/` with the same
 * arguments. The `qemu.d` form is the default because it never displaces another hook.
 */

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SvirtAuditError } from '../core/errors.js';
import { shellQuote } from '../core/shell-quote.js';
import { type HostFiles, hostConfinement } from '../allocation/enforcing-gate.js';

export type HookStyle = 'qemu.d' | 'qemu';

export interface InstallHookOptions {
  /** libvirt's hooks directory (default /etc/libvirt/hooks). */
  hooksDir: string;
  style: HookStyle;
  /** Database path baked into the script: libvirtd does not pass our environment on. */
  dbPath: string;
  /** Make a failing hook fail the VM start (SVIRT_AUDIT_HOOK_STRICT=1). */
  strict: boolean;
  /** Refuse to start a VM unless the host enforces its confinement (SVIRT_AUDIT_REQUIRE_ENFORCING=1). */
  requireEnforcing?: boolean;
  /** Overwrite a `qemu` script that svirt-audit did not write. */
  force: boolean;
  nodePath?: string;
  cliPath?: string;
}

const MARKER = '# svirt-audit libvirt hook';

/** Where the script goes for a style. */
export function hookScriptPath(hooksDir: string, style: HookStyle): string {
  return style === 'qemu' ? join(hooksDir, 'qemu') : join(hooksDir, 'qemu.d', 'svirt-audit');
}

/**
 * Node's options for running without the JIT, silently: Node 20 and 22 warn unless V8's
 * WebAssembly is turned off as well, Node 24 refuses that flag (bin/svirt-audit has the
 * same rule for when it is not told).
 */
export function jitlessFlags(nodeVersion: string): string {
  return Number(nodeVersion.split('.')[0]) < 24 ? '--jitless --no-expose-wasm' : '--jitless';
}

/**
 * The script text: a short shell wrapper that execs our CLI with a fixed database, through
 * bin/svirt-audit (which runs Node without its JIT where SELinux refuses execmem), with the
 * node binary that installed it.
 */
export function hookScript(options: InstallHookOptions): string {
  const node = options.nodePath ?? process.execPath;
  const [program, ...rest] = hookCommand(options);
  const run = [program, ...rest].map((a) => shellQuote(a as string)).join(' ');
  return [
    '#!/bin/sh',
    `${MARKER} (written by \`svirt-audit install-hook\`; rerun it rather than editing this file).`,
    '# libvirt calls it as: qemu DOMAIN OP SUBOP EXTRA, with the domain XML on stdin.',
    `SVIRT_AUDIT_DB=${shellQuote(options.dbPath)}`,
    'export SVIRT_AUDIT_DB',
    ...(options.strict ? ['SVIRT_AUDIT_HOOK_STRICT=1', 'export SVIRT_AUDIT_HOOK_STRICT'] : []),
    ...(options.requireEnforcing ? ['SVIRT_AUDIT_REQUIRE_ENFORCING=1', 'export SVIRT_AUDIT_REQUIRE_ENFORCING'] : []),
    `SVIRT_AUDIT_NODE=${shellQuote(node)}`,
    // Without the JIT, and without reading SELinux booleans to decide (bin/svirt-audit).
    'SVIRT_AUDIT_JIT=off',
    ...(node === process.execPath
      ? [`SVIRT_AUDIT_JITLESS_FLAGS='${jitlessFlags(process.versions.node)}'`, 'export SVIRT_AUDIT_JITLESS_FLAGS']
      : []),
    'export SVIRT_AUDIT_NODE SVIRT_AUDIT_JIT',
    `exec ${run} hook qemu "$@"`,
    '',
  ].join('\n');
}

/**
 * What the script execs: the launcher bin/svirt-audit (which picks Node's flags), or Node
 * with bin/svirt-audit.js where there is no launcher. Its first word is the program
 * libvirtd's own confinement must let it run.
 */
export function hookCommand(options: Pick<InstallHookOptions, 'nodePath' | 'cliPath'>): string[] {
  const node = options.nodePath ?? process.execPath;
  const cli = options.cliPath ?? defaultCliPath();
  const launcher = cli.replace(/\.js$/, '');
  return existsSync(launcher) && launcher !== cli ? [launcher] : [node, cli];
}

/**
 * Write the script (mode 0755, atomically). Throws BAD_INPUT when a `qemu` script from
 * someone else is in the way and `force` is not set.
 */
export function installHook(options: InstallHookOptions): string {
  const path = hookScriptPath(options.hooksDir, options.style);
  if (existsSync(path) && !options.force && !readFileSync(path, 'utf8').includes(MARKER)) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `${path} exists and was not written by svirt-audit`,
      'use --style qemu.d (the default) to install beside it, or --force to replace it',
    );
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, hookScript(options), { mode: 0o755 });
  chmodSync(tmp, 0o755);
  renameSync(tmp, path);
  return path;
}

/**
 * On an SELinux host, give the script a type libvirtd may execute. Debian's policy labels
 * everything under /etc/libvirt/hooks virt_etc_rw_t, which virtd_t may not execute: the
 * hook then fails with status 126 and libvirt refuses every VM start (found in the lab,
 * test/lab). bin_t runs in libvirtd's own domain. docs/selinux/svirt-audit.cil keeps that
 * label across relabels. Returns what to tell the admin, or undefined without SELinux.
 */
export function labelHookForLibvirt(path: string, files: HostFiles = {}): string | undefined {
  if (hostConfinement('selinux', files) === 'off') return undefined;
  const chcon = spawnSync('chcon', ['-t', 'bin_t', path], { encoding: 'utf8' });
  if (chcon.status === 0)
    return `labelled it bin_t so that libvirtd may run it; keep that across relabels with: semodule -i ${shellQuote(policyModulePath())}`;
  return `could not label it bin_t (${(chcon.stderr || chcon.error?.message || 'chcon failed').trim()}): libvirtd may not run it and then refuses every VM start; run: chcon -t bin_t ${shellQuote(path)}`;
}

/** docs/selinux/svirt-audit.cil of this installation. */
export function policyModulePath(): string {
  return join(dirname(dirname(defaultCliPath())), 'docs', 'selinux', 'svirt-audit.cil');
}

/** bin/svirt-audit.js of this installation, whether we run from dist/ or from source. */
function defaultCliPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'bin', 'svirt-audit.js');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new SvirtAuditError('BAD_INPUT', 'cannot find bin/svirt-audit.js of this installation');
}
