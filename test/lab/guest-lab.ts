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
import { beforeAll } from 'vitest';
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

/**
 * svirt-audit as an admin installs it: `npm pack`, then `npm install` of the tarball,
 * cached by the tarball's hash. A new tarball is installed as an upgrade over a copy of
 * an earlier install with the same dependencies and Node (npm then keeps the built
 * better-sqlite3 and rebuilds only our addon: 3 s instead of a minute of compiling).
 */
export function installedPackage(): string {
  return timed('npm pack + install', () => {
    const packDir = mkdtempSync(join(LAB_CACHE, 'pack-'));
    try {
      const tarball = packTarball(packDir);
      const key = createHash('sha256').update(readFileSync(tarball)).digest('hex').slice(0, 16);
      const prefix = join(LAB_CACHE, `svirt-audit-${key}`);
      if (!existsSync(join(prefix, 'node_modules', 'svirt-audit', 'bin'))) {
        rmSync(prefix, { recursive: true, force: true });
        const base = join(LAB_CACHE, `deps-${dependenciesKey()}`);
        if (existsSync(join(base, 'node_modules', 'better-sqlite3', 'build')))
          cpSync(base, prefix, { recursive: true, verbatimSymlinks: true });
        npmInstall(prefix, tarball);
        if (!existsSync(base)) cpSync(prefix, base, { recursive: true, verbatimSymlinks: true });
        // Earlier packages' installs: only the newest is used again.
        for (const old of readdirSync(LAB_CACHE))
          if (old.startsWith('svirt-audit-') && join(LAB_CACHE, old) !== prefix)
            rmSync(join(LAB_CACHE, old), { recursive: true, force: true });
      }
      return prefix;
    } finally {
      rmSync(packDir, { recursive: true, force: true });
    }
  });
}

/** What an install's built dependencies depend on: the package's dependencies and Node's ABI. */
function dependenciesKey(): string {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies?: unknown };
  return createHash('sha256')
    .update(JSON.stringify([manifest.dependencies, process.versions.modules, process.arch]))
    .digest('hex')
    .slice(0, 16);
}

function npmInstall(prefix: string, tarball: string): void {
  execFileSync('npm', ['install', '--prefix', prefix, '--omit=dev', '--no-audit', '--no-fund', tarball], {
    stdio: 'ignore',
  });
}

export interface GuestRun {
  /** Files the scenario left in out/NAME/ on the scenario disk (its audit log among them), by name. */
  files: Record<string, string>;
  /** What the guest's boot wrote before the scenarios and after each (its exit code and seconds). */
  boot: string;
  console: string;
  /** Seconds from the guest's start to its power-off (every scenario of the boot). */
  seconds: number;
}

/**
 * Boot `image` once and run `scenarios` in it, in that order, each on a host as fresh as
 * one boot allows (boot.sh): the scenario disk carries boot.sh, the scenarios, Node (this
 * machine's binary: Debian's own is too old) and the installed package. The base image
 * is not written: the guest runs on a copy-on-write overlay. One boot for several
 * scenarios, because booting and installing cost more than most scenarios.
 */
export async function bootGuest(
  image: string,
  flavour: Flavour,
  scenarios: string[],
  pkg: string,
): Promise<Record<string, GuestRun>> {
  // SVIRT_AUDIT_LAB_REPLAY=1: assert on what the last SVIRT_AUDIT_LAB_DEBUG run kept, without booting.
  if (process.env.SVIRT_AUDIT_LAB_REPLAY) return Object.fromEntries(scenarios.map((s) => [s, keptRun(s)]));
  mkdirSync(LAB_CACHE, { recursive: true });
  const work = mkdtempSync(join(LAB_CACHE, 'run-'));
  try {
    const disk = join(work, 'disk');
    mkdirSync(disk);
    cpSync(join(LAB, 'boot.sh'), join(disk, 'boot.sh'));
    cpSync(join(LAB, 'scenarios'), join(disk, 'scenarios'), { recursive: true });
    writeFileSync(join(disk, 'scenarios.list'), scenarios.map((s) => `${s}\n`).join(''));
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
    stageTimes.push({ stage: `boot + ${scenarios.join(' + ')}`, seconds });
    const consoleText = existsSync(join(work, 'console.log')) ? readFileSync(join(work, 'console.log'), 'utf8') : '';
    const out = readGuestFiles(work);
    const boot = out.get('')?.['boot.log'] ?? '';
    console.log(
      `lab (${flavour}): ${boot
        .split('\n')
        .filter((l) => /: exit /.test(l))
        .join('; ')}`,
    );
    const runs = Object.fromEntries(
      scenarios.map((s): [string, GuestRun] => [
        s,
        { files: out.get(s.replace(/\.sh$/, '')) ?? {}, boot, console: consoleText, seconds },
      ]),
    );
    if (process.env.SVIRT_AUDIT_LAB_DEBUG)
      for (const [scenario, run] of Object.entries(runs)) {
        const keep = join(LAB_CACHE, 'debug', scenario);
        rmSync(keep, { recursive: true, force: true });
        mkdirSync(keep, { recursive: true });
        for (const [name, text] of Object.entries(run.files)) writeFileSync(join(keep, name), text);
        writeFileSync(join(keep, 'boot.log'), boot);
        writeFileSync(join(keep, 'console.log'), consoleText);
        console.log(`lab: the guest's files for ${scenario} are in ${keep}`);
      }
    if (code !== 0)
      throw new Error(
        `qemu exited with ${code} after ${seconds} s; the guest said:\n${boot}\nconsole:\n${consoleText.slice(-2000)}`,
      );
    return runs;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Boots `flavour`'s guest once, before the calling suite's tests, with `scenarios` in
 * that order; each test then asks for its own scenario's run.
 */
export function bootOnceFor(flavour: Flavour, scenarios: string[]): (scenario: string) => GuestRun {
  let runs: Record<string, GuestRun> | undefined;
  beforeAll(async () => {
    runs = await bootGuest(guestImage(flavour), flavour, scenarios, installedPackage());
  }, BOOT_DEADLINE_MS + 300_000);
  return (scenario) => {
    const run = runs?.[scenario];
    if (!run) throw new Error(`the lab's ${flavour} guest did not run ${scenario}`);
    return run;
  };
}

/** What the last SVIRT_AUDIT_LAB_DEBUG run kept of `scenario`. */
function keptRun(scenario: string): GuestRun {
  const kept = join(LAB_CACHE, 'debug', scenario);
  const files = Object.fromEntries(readdirSync(kept).map((f) => [f, readFileSync(join(kept, f), 'utf8')]));
  return { files, boot: files['boot.log'] ?? '', console: files['console.log'] ?? '', seconds: 0 };
}

/**
 * What the guest left in out/ on the scenario disk (also after a guest killed at its
 * deadline): by directory ('' for out/ itself), each file by name.
 */
function readGuestFiles(work: string): Map<string, Record<string, string>> {
  const mount = join(work, 'mnt');
  mkdirSync(mount);
  // noload: a guest killed mid-write leaves a journal that a read-only mount must not replay.
  execFileSync('mount', ['-o', 'loop,ro,noload', join(work, 'lab.img'), mount]);
  const dirs = new Map<string, Record<string, string>>();
  const readDir = (dir: string): Record<string, string> => {
    const files: Record<string, string> = {};
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isFile()) files[entry.name] = readFileSync(join(dir, entry.name), 'utf8');
    return files;
  };
  try {
    const out = join(mount, 'out');
    if (existsSync(out)) {
      dirs.set('', readDir(out));
      for (const entry of readdirSync(out, { withFileTypes: true }))
        if (entry.isDirectory()) dirs.set(entry.name, readDir(join(out, entry.name)));
    }
  } finally {
    execFileSync('umount', [mount]);
  }
  return dirs;
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
  return `${run.boot}\n${run.files['scenario.log'] ?? ''}`;
}

/** Keep the guest's audit log as a fixture when SVIRT_AUDIT_LAB_KEEP=1. */
export function keepAuditLog(run: GuestRun, name: string, flavour: Flavour, scenario: string): void {
  if (process.env.SVIRT_AUDIT_LAB_KEEP !== '1' || !run.files['audit.log']) return;
  keepFixture(
    name,
    run.files['audit.log'],
    `Produced by test/lab (${flavour} flavour, scenario test/lab/scenarios/${scenario}) on ${new Date().toISOString()}: a Debian bookworm guest built by test/lab/build-image.sh, booted under qemu TCG (${run.seconds.toFixed(0)} s from boot to power-off, with the other scenarios of that boot). The guest said:\n${run.boot}`,
  );
}
