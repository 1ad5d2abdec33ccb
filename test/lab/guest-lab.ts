/**
 * The real-hosts lab: Debian guests with SELinux enforcing (or AppArmor), booted under qemu
 * (TCG, no network), running one scenario each with svirt-audit installed from the package
 * `npm pack` makes. Images and the installed package are cached outside the clone
 * ($SVIRT_AUDIT_LAB_CACHE, default /var/cache/svirt-audit-lab) under keys that hash their
 * inputs. Every qemu has a deadline and is killed by its pid.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { packTarball } from '../helpers/npm-pack.js';

export type Flavour = 'selinux' | 'apparmor';

const LAB = join(REPO_ROOT, 'test', 'lab');
export const LAB_CACHE = process.env.SVIRT_AUDIT_LAB_CACHE ?? '/var/cache/svirt-audit-lab';
const BOOT_DEADLINE_MS = 15 * 60_000;

/** Why the lab cannot run here (undefined: it can). */
export function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (mmdebstrap, loop mounts)';
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'mke2fs']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `${tool} is not installed (apt-get install qemu-system-x86 qemu-utils mmdebstrap e2fsprogs; .ci/run does)`;
  }
  return undefined;
}

/** Wall time of each stage, printed by the suite. */
export const stageTimes: { stage: string; seconds: number }[] = [];

/** Print the stages timed so far (each suite calls it after its tests). */
export function logStageTimes(): void {
  if (stageTimes.length > 0)
    console.log(`lab stages: ${stageTimes.map((s) => `${s.stage} ${s.seconds.toFixed(1)} s`).join('; ')}`);
}

/** An allocation as `allocations --json` prints it, the fields the suites assert on. */
export interface AllocationOut {
  name: string;
  model: string;
  label: string | null;
  source: string;
  endedAt: string | null;
}

/** A denial as `denials --json` prints it, the fields the suites assert on. */
export interface DenialOut {
  kind: string;
  model: string;
  permissive: boolean;
  perms: string[];
  source: { context: string; vm: { name: string } | null };
  target: { context: string; path: string | null; name: string | null; vm: { name: string } | null };
}
function timed<T>(stage: string, fn: () => T): T {
  const started = Date.now();
  try {
    return fn();
  } finally {
    stageTimes.push({ stage, seconds: (Date.now() - started) / 1000 });
  }
}

/** The guest image for `flavour` (built once, then cached): its directory. */
export function guestImage(flavour: Flavour): string {
  return timed(`image (${flavour})`, () =>
    execFileSync(join(LAB, 'build-image.sh'), [flavour], { stdio: ['ignore', 'pipe', 'inherit'] })
      .toString()
      .trim(),
  );
}

/** svirt-audit as an admin installs it: `npm pack`, then `npm install` of the tarball, cached by its hash. */
export function installedPackage(): string {
  return timed('npm pack + install', () => {
    const packDir = mkdtempSync(join(LAB_CACHE, 'pack-'));
    try {
      const tarball = packTarball(packDir);
      const key = createHash('sha256').update(readFileSync(tarball)).digest('hex').slice(0, 16);
      const prefix = join(LAB_CACHE, `svirt-audit-${key}`);
      if (!existsSync(join(prefix, 'node_modules', 'svirt-audit', 'bin'))) {
        rmSync(prefix, { recursive: true, force: true });
        execFileSync('npm', ['install', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', tarball], {
          stdio: 'ignore',
        });
      }
      return prefix;
    } finally {
      rmSync(packDir, { recursive: true, force: true });
    }
  });
}

export interface GuestRun {
  /** Files the guest left in out/ on the scenario disk, by name. */
  files: Record<string, string>;
  console: string;
  seconds: number;
}

/**
 * Boot `image` with the scenario disk: boot.sh, `scenario`, Node (this machine's binary:
 * Debian's own is too old) and the installed package. The base image is not written: the
 * guest runs on a copy-on-write overlay.
 */
export async function runScenario(image: string, flavour: Flavour, scenario: string, pkg: string): Promise<GuestRun> {
  // SVIRT_AUDIT_LAB_REPLAY=1: assert on what the last SVIRT_AUDIT_LAB_DEBUG run kept, without booting.
  if (process.env.SVIRT_AUDIT_LAB_REPLAY) {
    const kept = join(LAB_CACHE, 'debug', scenario);
    const files = Object.fromEntries(readdirSync(kept).map((f) => [f, readFileSync(join(kept, f), 'utf8')]));
    return { files, console: files['console.log'] ?? '', seconds: 0 };
  }
  mkdirSync(LAB_CACHE, { recursive: true });
  const work = mkdtempSync(join(LAB_CACHE, 'run-'));
  try {
    const disk = join(work, 'disk');
    mkdirSync(disk);
    cpSync(join(LAB, 'boot.sh'), join(disk, 'boot.sh'));
    cpSync(join(LAB, 'scenarios', scenario), join(disk, 'scenario.sh'));
    // What the libvirt scenarios share (sourced from /mnt/lab).
    cpSync(join(LAB, 'scenarios', 'libvirt-guests.sh'), join(disk, 'libvirt-guests.sh'));
    cpSync(process.execPath, join(disk, 'node'));
    cpSync(pkg, join(disk, 'svirt-audit'), { recursive: true });
    execFileSync('mke2fs', ['-q', '-t', 'ext4', '-d', disk, join(work, 'lab.img'), '1G'], { stdio: 'ignore' });
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      join(image, 'disk.img'),
      '-F',
      'raw',
      join(work, 'overlay.qcow2'),
    ]);
    const lsm = flavour === 'selinux' ? 'selinux=1 security=selinux enforcing=1' : 'apparmor=1 security=apparmor';
    const started = Date.now();
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-accel',
        'tcg,thread=multi',
        '-m',
        '2048',
        '-smp',
        '2',
        '-nic',
        'none',
        '-kernel',
        join(image, 'vmlinuz'),
        '-initrd',
        join(image, 'initrd.img'),
        '-append',
        `root=/dev/vda rw console=ttyS0 ${lsm}`,
        '-drive',
        `file=${join(work, 'overlay.qcow2')},if=virtio,format=qcow2`,
        '-drive',
        `file=${join(work, 'lab.img')},if=virtio,format=raw`,
        '-display',
        'none',
        '-serial',
        `file:${join(work, 'console.log')}`,
        '-no-reboot',
      ],
      { stdio: 'ignore' },
    );
    const deadline = setTimeout(() => qemu.pid && process.kill(qemu.pid, 'SIGKILL'), BOOT_DEADLINE_MS);
    const code = await new Promise<number | null>((resolve) => qemu.on('exit', resolve));
    clearTimeout(deadline);
    const seconds = (Date.now() - started) / 1000;
    stageTimes.push({ stage: `boot + ${scenario}`, seconds });
    const consoleText = existsSync(join(work, 'console.log')) ? readFileSync(join(work, 'console.log'), 'utf8') : '';
    const files = readGuestFiles(work);
    if (process.env.SVIRT_AUDIT_LAB_DEBUG) {
      const keep = join(LAB_CACHE, 'debug', scenario);
      mkdirSync(keep, { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(join(keep, name), text);
      writeFileSync(join(keep, 'console.log'), consoleText);
      console.log(`lab: the guest's files are in ${keep}`);
    }
    if (code !== 0)
      throw new Error(
        `qemu exited with ${code} after ${seconds} s; the scenario said:\n${(files['scenario.log'] ?? '').slice(-3000)}\nconsole:\n${consoleText.slice(-2000)}`,
      );
    return { files, console: consoleText, seconds };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What the guest left in out/ on the scenario disk (also after a guest killed at its deadline). */
function readGuestFiles(work: string): Record<string, string> {
  const mount = join(work, 'mnt');
  mkdirSync(mount);
  // noload: a guest killed mid-write leaves a journal that a read-only mount must not replay.
  execFileSync('mount', ['-o', 'loop,ro,noload', join(work, 'lab.img'), mount]);
  const files: Record<string, string> = {};
  try {
    const out = join(mount, 'out');
    if (existsSync(out)) for (const f of readdirSync(out)) files[f] = readFileSync(join(out, f), 'utf8');
  } finally {
    execFileSync('umount', [mount]);
  }
  return files;
}

/** Keep a log the lab produced as a fixture (with its provenance beside it). */
export function keepFixture(name: string, text: string, provenance: string): void {
  const dir = join(REPO_ROOT, 'test', 'fixtures', 'lab');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, `${name}.provenance`), provenance);
}

/** A JSON file the guest wrote, or null when it is missing or not JSON. */
export function guestJson<T>(run: GuestRun, name: string): T | null {
  try {
    return JSON.parse(run.files[name] ?? 'null') as T | null;
  } catch {
    return null;
  }
}

/** What the guest said, for assertion messages; every file with SVIRT_AUDIT_LAB_DEBUG=1. */
export function guestLog(run: GuestRun): string {
  if (process.env.SVIRT_AUDIT_LAB_DEBUG)
    for (const [name, text] of Object.entries(run.files)) console.log(`--- ${name}\n${text.slice(-4000)}`);
  return `${run.files['boot.log'] ?? ''}\n${run.files['scenario.log'] ?? ''}`;
}

/** Keep the guest's audit log as a fixture when SVIRT_AUDIT_LAB_KEEP=1. */
export function keepAuditLog(run: GuestRun, name: string, flavour: Flavour, scenario: string): void {
  if (process.env.SVIRT_AUDIT_LAB_KEEP !== '1' || !run.files['audit.log']) return;
  keepFixture(
    name,
    run.files['audit.log'],
    `Produced by test/lab (${flavour} flavour, scenario test/lab/scenarios/${scenario}) on ${new Date().toISOString()}: a Debian bookworm guest built by test/lab/build-image.sh, booted under qemu TCG, ${run.seconds.toFixed(0)} s from boot to power-off. The guest said:\n${run.files['boot.log'] ?? ''}`,
  );
}
