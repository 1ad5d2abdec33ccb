/**
 * `svirt-audit launch` and `reap` for real: relabels are real `security.selinux` xattrs on
 * ext4 (root, SELinux not enabled), checked with getfattr; the success path runs with a
 * test-only LD_PRELOAD shim answering libselinux's kernel queries; execve really replaces
 * the process (the pid the program prints is the pid we spawned and recorded).
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNativeError, loadNative } from '../../native/index.js';
import { listAllocations } from '../../store/allocations.js';
import { listRelabels } from '../../store/relabels.js';
import { openStore } from '../../store/store.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { cliProcess } from '../helpers/cli-run.js';
import { writeQcow2Header } from '../helpers/qcow2-image.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
const ORIGINAL = 'system_u:object_r:virt_image_t:s0';
const UUID = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';

function xattrsSupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to set security.* and trusted.* xattrs';
  try {
    const f = join(scratch.dir, 'probe');
    writeFileSync(f, '');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'x', f]);
    execFileSync('setfattr', ['-n', 'trusted.probe', '-v', 'x', f]);
  } catch (e) {
    return `this filesystem does not take security/trusted xattrs (${(e as Error).message.split('\n')[0]})`;
  }
  try {
    loadNative().getXattr('/', 'user.probe');
  } catch (e) {
    if (isNativeError(e) && e.code === 'ENOTBUILT') return 'the native addon is not built';
  }
  return undefined;
}
const skip = xattrsSupported();
if (skip) console.log(`skipped: launch tests: ${skip}`);

/** Why a read-only mount cannot be made here (undefined: it can), for the read-only image test. */
function readOnlyMountUnavailable(): string | undefined {
  const probe = join(scratch.dir, 'mount-probe');
  mkdirSync(probe);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'none', probe]);
  if (mounted.status !== 0)
    return `cannot mount a tmpfs (${mounted.stderr?.toString().trim() || mounted.error?.message})`;
  spawnSync('umount', [probe]);
  return undefined;
}
const noReadOnlyMount = skip ?? readOnlyMountUnavailable();
if (noReadOnlyMount) console.log(`skipped: launch with a base image on a read-only mount: ${noReadOnlyMount}`);

const label = (path: string) =>
  execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'security.selinux', path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
    .toString()
    .replace(/\0$/, '');
const remembered = (path: string) => {
  try {
    return execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'trusted.svirt-audit.label', path], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
  } catch {
    return null;
  }
};

function disks(prefix: string): { rw: string; ro: string; shared: string } {
  const d = {
    rw: join(scratch.dir, `${prefix}-rw.qcow2`),
    ro: join(scratch.dir, `${prefix}-tools.iso`),
    shared: join(scratch.dir, `${prefix}-shared.img`),
  };
  for (const p of Object.values(d)) {
    writeFileSync(p, '');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', ORIGINAL, p]);
  }
  return d;
}

let shim: string | undefined;
beforeAll(() => {
  requireBuilt();
  if (skip) return;
  try {
    shim = join(scratch.dir, 'selinux-shim.so');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', shim, join(import.meta.dirname, '..', 'native', 'selinux-shim.c')]);
  } catch (e) {
    shim = undefined;
    console.log(`skipped: the shim test: cannot compile the LD_PRELOAD shim (${(e as Error).message.split('\n')[0]})`);
  }
});
afterAll(() => scratch.cleanup());

/** The launch's allocation and its relabel rows, read from its database. */
function launchRecord(db: string) {
  const store = openStore(db);
  try {
    const [allocation] = listAllocations(store);
    return { allocation, relabels: listRelabels(store, allocation?.id as number) };
  } finally {
    store.close();
  }
}

/** `launch` of VM web1 under the SELinux model with these disks, then the program. */
function selinuxLaunch(db: string, diskArgs: string[], program: string[], options: string[] = []): string[] {
  return [
    'launch',
    '--db',
    db,
    '--uuid',
    UUID,
    '--vm',
    'web1',
    '--model',
    'selinux',
    ...diskArgs.flatMap((x) => ['--disk', x]),
    ...options,
    '--',
    ...program,
  ];
}

describe.runIf(!skip)('launch', () => {
  it('--model none: records the allocation and execs in place (same pid, argv and env passed)', async () => {
    const db = join(scratch.dir, 'none.db');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'launch',
        '--db',
        db,
        '--uuid',
        UUID,
        '--vm',
        'plain',
        '--model',
        'none',
        '--',
        '/bin/sh',
        '-c',
        'echo "$$ $0 $1 $SVIRT_LAUNCH_TEST"',
        'first',
        'second',
      ],
      { env: { ...process.env, SVIRT_LAUNCH_TEST: 'passed' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const [line] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [string];
    await once(child, 'exit');
    expect(line).toBe(`${child.pid} first second passed`);
    const store = openStore(db);
    const [a] = listAllocations(store);
    store.close();
    expect(a).toMatchObject({ name: 'plain', model: 'none', source: 'launch', pid: child.pid });
  });

  it('--model selinux on a host without SELinux: setexeccon fails, launch says so, disks restored, allocation released', async () => {
    const db = join(scratch.dir, 'fail.db');
    const d = disks('fail');
    const r = await cliProcess(selinuxLaunch(db, [d.rw, `${d.ro}:ro`, `${d.shared}:shared`], ['/bin/true']));
    // A launch that failed is not bad usage: its own status (README).
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(/cannot set the exec context system_u:system_r:svirt_t:s0:c\d+,c\d+: setexeccon: /);
    expect(r.stderr).toMatch(/SELinux must be enabled .*--model none/);
    for (const p of Object.values(d)) {
      expect(label(p)).toBe(ORIGINAL);
      expect(remembered(p)).toBeNull();
    }
    const { allocation: a, relabels: rows } = launchRecord(db);
    expect(a?.endedAt).not.toBeNull();
    expect(rows.map((x) => [x.action, x.error])).toEqual([
      ['relabel', null],
      ['relabel', null],
      ['relabel', null],
      ['restore', null],
      ['restore', null],
      ['restore', null],
    ]);
  });

  it('an exec that fails (a file that is not a program) restores the disks and releases the allocation', async () => {
    if (!shim) return;
    const db = join(scratch.dir, 'exec-fail.db');
    const d = disks('ef');
    const notAProgram = join(scratch.dir, 'not-a-program');
    writeFileSync(notAProgram, 'plain text\n', { mode: 0o755 });
    const r = await cliProcess(selinuxLaunch(db, [d.rw, `${d.ro}:ro`], [notAProgram]), {
      env: { ...process.env, LD_PRELOAD: shim },
    });
    expect(r.status).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`cannot exec ${notAProgram}: execve: `));
    expect(r.stderr).toMatch(/the disks were restored and the allocation released/);
    for (const p of [d.rw, d.ro]) {
      expect(label(p)).toBe(ORIGINAL);
      expect(remembered(p)).toBeNull();
    }
    const { allocation: a, relabels: rows } = launchRecord(db);
    expect(a?.endedAt).not.toBeNull();
    expect(rows.map((x) => [x.path, x.action, x.error])).toEqual([
      [d.rw, 'relabel', null],
      [d.ro, 'relabel', null],
      [d.ro, 'restore', null],
      [d.rw, 'restore', null],
    ]);
  });

  it('a relabel that fails stops the launch, restores the disks already changed and releases the allocation', async () => {
    const db = join(scratch.dir, 'relabel-fail.db');
    const d = disks('rf');
    const missing = join(scratch.dir, 'no-such-disk.img');
    const r = await cliProcess(selinuxLaunch(db, [d.rw, missing], ['/bin/true']));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cannot relabel ${missing}`));
    expect(label(d.rw)).toBe(ORIGINAL);
    expect(remembered(d.rw)).toBeNull();
    const { allocation: a, relabels: rows } = launchRecord(db);
    expect(a?.endedAt).not.toBeNull();
    expect(rows.map((x) => [x.path, x.action, x.error === null])).toEqual([
      [d.rw, 'relabel', true],
      [missing, 'relabel', false],
      [d.rw, 'restore', true],
    ]);
  });

  it('with the libselinux shim: real relabels, exec context set, same pid; reap restores after exit', async () => {
    if (!shim) return;
    const db = join(scratch.dir, 'ok.db');
    const log = join(scratch.dir, 'execcon.log');
    const d = disks('ok');
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, ...selinuxLaunch(db, [d.rw, `${d.ro}:ro`, `${d.shared}:shared`], ['/bin/sh', '-c', 'echo $$; read line'])],
      { env: { ...process.env, LD_PRELOAD: shim, SHIM_EXECCON_LOG: log }, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (c) => (stderr += c));
    const [pidLine] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [
      string,
    ];
    expect(stderr).toBe('');
    expect(Number(pidLine)).toBe(child.pid);

    const store = openStore(db);
    const [a] = listAllocations(store);
    expect(a).toMatchObject({ model: 'selinux', source: 'launch', pid: child.pid, endedAt: null });
    const image = a?.imageLabel as string;
    // While QEMU (here: sh) runs: the labels the security driver would set, the originals remembered.
    expect(label(d.rw)).toBe(image);
    expect(label(d.ro)).toBe('system_u:object_r:virt_content_t:s0');
    expect(label(d.shared)).toBe('system_u:object_r:svirt_image_t:s0');
    for (const p of Object.values(d)) expect(remembered(p)).toBe(ORIGINAL);
    expect(readFileSync(log, 'utf8')).toBe(a?.label);
    expect(listRelabels(store, a?.id as number).map((r) => [r.path, r.labelBefore, r.labelAfter, r.error])).toEqual([
      [d.rw, ORIGINAL, image, null],
      [d.ro, ORIGINAL, 'system_u:object_r:virt_content_t:s0', null],
      [d.shared, ORIGINAL, 'system_u:object_r:svirt_image_t:s0', null],
    ]);
    store.close();

    // A running guest is not reaped.
    expect((await cliProcess(['reap', '--db', db])).stdout).toMatch(/nothing to reap/);
    child.stdin?.end();
    await once(child, 'exit');
    const reap = await cliProcess(['reap', '--db', db, '--json']);
    const [outcome] = JSON.parse(reap.stdout);
    expect(outcome.allocation.endedAt).not.toBeNull();
    expect(outcome.restored.map((r: { error: string | null }) => r.error)).toEqual([null, null, null]);
    for (const p of Object.values(d)) {
      expect(label(p)).toBe(ORIGINAL);
      expect(remembered(p)).toBeNull();
    }
    const after = openStore(db);
    const restores = listRelabels(after, a?.id as number).filter((r) => r.action === 'restore');
    after.close();
    expect(restores.map((r) => r.labelAfter)).toEqual([ORIGINAL, ORIGINAL, ORIGINAL]);
  });

  it('an overlay: its backing files are labelled read-only content for the run, and restored by reap', async () => {
    if (!shim) return;
    const db = join(scratch.dir, 'overlay.db');
    const base = join(scratch.dir, 'overlay-base.raw');
    const snap = join(scratch.dir, 'overlay-snap.qcow2');
    const top = join(scratch.dir, 'overlay-top.qcow2');
    writeFileSync(base, 'raw base');
    writeQcow2Header(snap, base, 'raw');
    writeQcow2Header(top, 'overlay-snap.qcow2', 'qcow2');
    for (const p of [base, snap, top]) execFileSync('setfattr', ['-n', 'security.selinux', '-v', ORIGINAL, p]);
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, ...selinuxLaunch(db, [`${top}:fmt=qcow2`], ['/bin/sh', '-c', 'echo $$; read line'])],
      {
        env: { ...process.env, LD_PRELOAD: shim },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line');
    const store = openStore(db);
    const [a] = listAllocations(store);
    const content = 'system_u:object_r:virt_content_t:s0';
    expect([label(top), label(snap), label(base)]).toEqual([a?.imageLabel, content, content]);
    expect(listRelabels(store, a?.id as number).map((r) => [r.path, r.labelAfter, r.error])).toEqual([
      [top, a?.imageLabel, null],
      [snap, content, null],
      [base, content, null],
    ]);
    store.close();
    child.stdin?.end();
    await once(child, 'exit');
    const reap = await cliProcess(['reap', '--db', db, '--json']);
    expect(JSON.parse(reap.stdout)[0].restored).toHaveLength(3);
    for (const p of [base, snap, top]) {
      expect(label(p)).toBe(ORIGINAL);
      expect(remembered(p)).toBeNull();
    }
  });

  it('a raw disk whose content starts with a qcow2 header naming a host file: only the disk is relabelled (CVE-2010-2237)', async () => {
    const db = join(scratch.dir, 'guest-header.db');
    const victim = join(scratch.dir, 'victim-shadow');
    writeFileSync(victim, 'root:*:');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:shadow_t:s0', victim]);
    mkdirSync(join(scratch.dir, 'guest-images'));
    const disk = join(scratch.dir, 'guest-images', 'disk.img');
    // What a guest can write to the first sector of its own raw disk.
    writeQcow2Header(disk, '../victim-shadow', 'raw');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', ORIGINAL, disk]);
    for (const given of [disk, `${disk}:fmt=raw`]) {
      const r = await cliProcess(selinuxLaunch(db, [given], ['/bin/true']));
      expect(r.stderr).toMatch(/cannot set the exec context/); // no SELinux here: the launch stops after the relabels
      const { relabels } = launchRecord(db);
      expect(relabels.map((x) => x.path)).not.toContain(victim);
      expect(label(victim)).toBe('system_u:object_r:shadow_t:s0');
      expect(remembered(victim)).toBeNull();
    }
  });

  it('a qcow2 overlay whose backing file resolves outside the allowed directories: exit 2, nothing relabelled, no allocation open', async () => {
    const db = join(scratch.dir, 'outside.db');
    const victim = join(scratch.dir, 'outside-victim');
    writeFileSync(victim, 'host file');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:etc_t:s0', victim]);
    mkdirSync(join(scratch.dir, 'vm-images'));
    const top = join(scratch.dir, 'vm-images', 'top.qcow2');
    writeQcow2Header(top, '../outside-victim', 'raw');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', ORIGINAL, top]);
    const r = await cliProcess(selinuxLaunch(db, [`${top}:fmt=qcow2`], ['/bin/true']));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`resolves to ${victim}, outside the allowed directories`);
    expect(r.stderr).toMatch(/--backing-dir/);
    expect([label(top), label(victim)]).toEqual([ORIGINAL, 'system_u:object_r:etc_t:s0']);
    expect(launchRecord(db).allocation).toBeUndefined();
  });

  it('the undo of a failed launch removes the label it set on a disk that had none', async () => {
    const db = join(scratch.dir, 'unlabelled.db');
    const disk = join(scratch.dir, 'never-labelled.img');
    writeFileSync(disk, '');
    const r = await cliProcess(selinuxLaunch(db, [disk], ['/bin/true']));
    expect(r.stderr).toMatch(/cannot set the exec context/);
    expect(() => label(disk)).toThrow(/No such attribute/);
    expect(remembered(disk)).toBeNull();
    expect(launchRecord(db).relabels.map((x) => [x.action, x.labelAfter === null, x.error])).toEqual([
      ['relabel', false, null],
      ['restore', true, null],
    ]);
  });

  it('the undo of a failed launch keeps a remembered label it did not write (a crashed launch left it), as reap will use it', async () => {
    const db = join(scratch.dir, 'crashed.db');
    const disk = join(scratch.dir, 'after-crash.img');
    const stale = 'system_u:object_r:svirt_image_t:s0:c1,c2';
    writeFileSync(disk, '');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', stale, disk]);
    execFileSync('setfattr', ['-n', 'trusted.svirt-audit.label', '-v', ORIGINAL, disk]);
    const r = await cliProcess(selinuxLaunch(db, [disk], ['/bin/true']));
    expect(r.stderr).toMatch(/cannot set the exec context/);
    expect(label(disk)).toBe(stale);
    expect(remembered(disk)).toBe(ORIGINAL);
  });

  it('--require-enforcing: a permissive host is refused (exit 3) before anything is relabelled; an enforcing one goes on', async () => {
    const selinuxfs = join(scratch.dir, 'selinuxfs');
    mkdirSync(selinuxfs);
    const d = disks('gate');
    for (const [enforce, db] of [
      ['0', join(scratch.dir, 'gate-permissive.db')],
      ['1', join(scratch.dir, 'gate-enforcing.db')],
    ] as const) {
      writeFileSync(join(selinuxfs, 'enforce'), `${enforce}\n`);
      const r = await cliProcess(selinuxLaunch(db, [d.rw], ['/bin/true'], ['--require-enforcing']), {
        env: { ...process.env, SVIRT_AUDIT_SELINUXFS: selinuxfs },
      });
      if (enforce === '0') {
        expect(r.status).toBe(3);
        expect(r.stderr).toMatch(
          /refusing to start: selinux is permissive on this host, and enforcement is required\n\s+run setenforce 1/,
        );
        expect(launchRecord(db).allocation).toBeUndefined();
        expect(remembered(d.rw)).toBeNull();
      } else {
        // Past the gate: the disks are relabelled; this host has no SELinux, so the exec context fails after.
        expect(r.stderr).toMatch(/cannot set the exec context/);
        expect(launchRecord(db).relabels.map((x) => x.action)).toEqual(['relabel', 'restore']);
      }
      expect(label(d.rw)).toBe(ORIGINAL);
    }
  });

  it.runIf(!noReadOnlyMount)(
    'a base image on a read-only mount is left as it is (recorded, warned), as libvirt does; the launch goes on',
    async () => {
      if (!shim) return;
      const db = join(scratch.dir, 'ro-base.db');
      const mount = join(scratch.dir, 'golden');
      mkdirSync(mount);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'none', mount]);
      try {
        const base = join(mount, 'golden.raw');
        writeFileSync(base, 'golden image');
        execFileSync('setfattr', ['-n', 'security.selinux', '-v', ORIGINAL, base]);
        execFileSync('mount', ['-o', 'remount,ro', mount]);
        const top = join(scratch.dir, 'on-golden.qcow2');
        writeQcow2Header(top, base, 'raw');
        execFileSync('setfattr', ['-n', 'security.selinux', '-v', ORIGINAL, top]);
        const child: ChildProcess = spawn(
          process.execPath,
          [
            CLI,
            ...selinuxLaunch(
              db,
              [`${top}:fmt=qcow2`],
              ['/bin/sh', '-c', 'echo $$; read line'],
              ['--backing-dir', mount],
            ),
          ],
          { env: { ...process.env, LD_PRELOAD: shim }, stdio: ['pipe', 'pipe', 'pipe'] },
        );
        let stderr = '';
        child.stderr?.on('data', (c) => (stderr += c));
        const [pidLine] = (await once(createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line')) as [
          string,
        ];
        expect(Number(pidLine)).toBe(child.pid);
        expect(stderr).toMatch(new RegExp(`warning: ${base}: .*Read-only file system.*left as it is, as libvirt does`));
        const { allocation: a, relabels: rows } = launchRecord(db);
        expect(rows.map((r) => [r.path, r.error === null])).toEqual([
          [top, true],
          [base, false],
        ]);
        expect([label(top), label(base)]).toEqual([a?.imageLabel, ORIGINAL]);
        child.stdin?.end();
        await once(child, 'exit');
        const reap = await cliProcess(['reap', '--db', db, '--json']);
        // Only the overlay had a label to put back.
        expect(JSON.parse(reap.stdout)[0].restored).toEqual([{ path: top, label: ORIGINAL, error: null }]);
        expect(label(top)).toBe(ORIGINAL);
      } finally {
        spawnSync('umount', [mount]);
      }
    },
  );
});
