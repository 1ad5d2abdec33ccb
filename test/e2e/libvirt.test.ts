/**
 * Our hook under a real libvirtd starting real (TCG-emulated) guests. Debian's libvirt and
 * QEMU run here without systemd: the suite writes the few system files libvirt expects
 * (a qemu.conf with root user and remember_owner = 0, the libvirt-qemu user, its log
 * directory), starts virtlogd and libvirtd itself with sockets and pid files in a
 * temporary directory, installs our hook with `svirt-audit install-hook`, and puts every
 * file and process back afterwards. For SELinux guests libvirtd runs with a test-only
 * LD_PRELOAD shim answering libselinux's kernel queries, so libvirt's real SELinux driver
 * generates labels and sets security.selinux on the disks, as libvirt's own tests do.
 */

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { listAllocations, listExpectedDisks } from '../../store/allocations.js';
import { queryDenials } from '../../store/denial-query.js';
import { openStore } from '../../store/store.js';
import { requireBuilt } from '../helpers/built.js';
import { cli } from '../helpers/cli-run.js';
import { tempDir } from '../helpers/temp-store.js';

const HOOKS = '/etc/libvirt/hooks';
const HOOK_SCRIPT = join(HOOKS, 'qemu.d', 'svirt-audit');
const QEMU_CONF = '/etc/libvirt/qemu.conf';

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (libvirtd in system mode)';
  for (const bin of [
    '/usr/sbin/libvirtd',
    '/usr/sbin/virtlogd',
    '/usr/bin/virsh',
    '/usr/bin/qemu-system-x86_64',
    '/usr/bin/qemu-img',
  ]) {
    if (!existsSync(bin))
      return `${bin} is missing (apt-get install libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils; .ci/run does)`;
  }
  if (spawnSync('gcc', ['--version']).status !== 0)
    return 'gcc is missing (the libselinux shim is compiled at test time)';
  if (existsSync(HOOK_SCRIPT)) return `${HOOK_SCRIPT} exists already: not touching a real installation`;
  return undefined;
}
const skip = whyNot();
if (skip) console.log(`skipped: real libvirt suite: ${skip}`);

const scratch = tempDir('svirt-libvirt-');
const T = scratch.dir;
const URI = `qemu:///system?socket=${T}/run/libvirt-sock`;
const DB = join(T, 'audit.db');
let virtlogd: ChildProcess | undefined;
let libvirtd: ChildProcess | undefined;
let savedQemuConf: string | null = null;
let madeUser = false;
const guestsStarted = new Set<string>();

function virsh(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('virsh', ['-c', URI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Resolves once `file` exists (awaits the directory's watch events, no sleeps). */
async function appears(file: string, timeoutMs: number): Promise<void> {
  if (existsSync(file)) return;
  const dir = join(file, '..');
  await new Promise<void>((resolve, reject) => {
    const w = watch(dir, () => {
      if (existsSync(file)) {
        clearTimeout(timer);
        w.close();
        resolve();
      }
    });
    const timer = setTimeout(() => {
      w.close();
      reject(new Error(`${file} did not appear within ${timeoutMs} ms`));
    }, timeoutMs);
    if (existsSync(file)) {
      clearTimeout(timer);
      w.close();
      resolve();
    }
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

function domainXml(
  name: string,
  uuid: string,
  disks: { file: string; type: 'qcow2' | 'raw'; extra?: string }[],
  seclabel: string,
): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${disks
  .map(
    (d, i) =>
      `    <disk type='file' device='disk'><driver name='qemu' type='${d.type}'${d.extra?.includes('shareable') ? " cache='none'" : ''}/><source file='${d.file}'/><target dev='vd${String.fromCharCode(97 + i)}' bus='virtio'/>${d.extra ?? ''}</disk>`,
  )
  .join('\n')}
  </devices>
  ${seclabel}
</domain>`;
}

function start(name: string, xml: string): { status: number | null; stderr: string } {
  const file = join(T, `${name}.xml`);
  writeFileSync(file, xml);
  const r = virsh('create', file);
  if (r.status === 0) guestsStarted.add(name);
  return r;
}

function destroy(name: string): void {
  virsh('destroy', name);
  guestsStarted.delete(name);
}

function image(name: string, format: 'qcow2' | 'raw'): string {
  const f = join(T, 'images', name);
  execFileSync('qemu-img', ['create', '-f', format, f, format === 'qcow2' ? '16M' : '1M'], { stdio: 'ignore' });
  execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:virt_image_t:s0', f]);
  return f;
}

const xattr = (f: string) =>
  execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'security.selinux', f])
    .toString()
    .replace(/\0$/, '');

function allocations(uuid: string) {
  const store = openStore(DB);
  try {
    return listAllocations(store, { uuid }).map((a) => ({ ...a, disks: listExpectedDisks(store, a.id) }));
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  if (skip) return;
  requireBuilt();
  for (const d of ['run', 'images', 'contexts', 'log']) mkdirSync(join(T, d), { recursive: true });
  mkdirSync('/var/log/libvirt/qemu', { recursive: true });
  mkdirSync('/run/libvirt', { recursive: true });
  if (spawnSync('id', ['libvirt-qemu']).status !== 0) {
    spawnSync('groupadd', ['-r', 'libvirt-qemu']);
    execFileSync('useradd', [
      '-r',
      '-g',
      'libvirt-qemu',
      '-d',
      '/var/lib/libvirt',
      '-s',
      '/usr/sbin/nologin',
      'libvirt-qemu',
    ]);
    madeUser = true;
  }
  savedQemuConf = existsSync(QEMU_CONF) ? readFileSync(QEMU_CONF, 'utf8') : null;
  writeFileSync(QEMU_CONF, 'user = "root"\ngroup = "root"\nremember_owner = 0\nsecurity_driver = "selinux"\n');
  writeFileSync(
    join(T, 'contexts', 'virtual_domain_context'),
    'system_u:system_r:svirt_t:s0\nsystem_u:system_r:svirt_tcg_t:s0\n',
  );
  writeFileSync(
    join(T, 'contexts', 'virtual_image_context'),
    'system_u:object_r:svirt_image_t:s0\nsystem_u:object_r:virt_content_t:s0\n',
  );
  execFileSync('gcc', [
    '-shared',
    '-fPIC',
    '-o',
    join(T, 'shim.so'),
    join(import.meta.dirname, 'libvirt-selinux-shim.c'),
  ]);
  writeFileSync(
    join(T, 'libvirtd.conf'),
    `unix_sock_dir = "${T}/run"\nunix_sock_rw_perms = "0700"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\nlog_outputs = "3:file:${T}/log/libvirtd.log"\n`,
  );

  // 1. Our hook is installed before libvirtd starts (it reads hooks at start).
  const installed = await cli(['install-hook', '--dir', HOOKS, '--db', DB]);
  expect(installed.status).toBe(0);

  virtlogd = spawn('virtlogd', ['-p', join(T, 'virtlogd.pid')], { stdio: 'ignore' });
  libvirtd = spawn('libvirtd', ['-f', join(T, 'libvirtd.conf'), '-p', join(T, 'libvirtd.pid')], {
    stdio: 'ignore',
    env: { ...process.env, LD_PRELOAD: join(T, 'shim.so'), SHIM_CONTEXTS_DIR: join(T, 'contexts') },
  });
  await appears(join(T, 'run', 'libvirt-sock'), 30_000);
}, 60_000);

afterAll(async () => {
  if (skip) return;
  for (const name of [...guestsStarted]) destroy(name);
  await stop(libvirtd);
  await stop(virtlogd);
  rmSync(HOOK_SCRIPT, { force: true });
  if (savedQemuConf === null) rmSync(QEMU_CONF, { force: true });
  else writeFileSync(QEMU_CONF, savedQemuConf);
  for (const g of ['tiny', 'web', 'web2', 'layered', 'strict'])
    rmSync(`/var/log/libvirt/qemu/${g}.log`, { force: true });
  if (madeUser) spawnSync('userdel', ['libvirt-qemu']);
  scratch.cleanup();
}, 60_000);

describe.runIf(!skip)('our hook under a real libvirtd', () => {
  it("2. <seclabel type='none'/>: the allocation opens at started and closes at stopped, with name, uuid and disks", () => {
    const disk = image('tiny.qcow2', 'qcow2');
    const uuid = '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d';
    const r = start('tiny', domainXml('tiny', uuid, [{ file: disk, type: 'qcow2' }], "<seclabel type='none'/>"));
    expect(r.stderr).toBe('');
    const [open] = allocations(uuid);
    expect(open).toMatchObject({ name: 'tiny', uuid, model: 'none', source: 'hook', endedAt: null });
    expect(open?.pid).toBeGreaterThan(0);
    expect(open?.disks.map((d) => d.path)).toEqual([disk]);
    destroy('tiny');
    expect(allocations(uuid)[0]?.endedAt).not.toBeNull();
  });

  it('3. dynamic SELinux with three disks: our record matches virsh dumpxml and the xattrs libvirt set; an AVC is attributed by name', async () => {
    const uuid = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
    const rw = image('web.qcow2', 'qcow2');
    const ro = image('web-ro.img', 'raw');
    const shared = image('web-shared.img', 'raw');
    const r = start(
      'web',
      domainXml(
        'web',
        uuid,
        [
          { file: rw, type: 'qcow2' },
          { file: ro, type: 'raw', extra: '<readonly/>' },
          { file: shared, type: 'raw', extra: '<shareable/>' },
        ],
        "<seclabel type='dynamic' model='selinux'/>",
      ),
    );
    expect(r.stderr).toBe('');
    const live = virsh('dumpxml', 'web').stdout;
    const label =
      /<seclabel type='dynamic' model='selinux'[^>]*>\s*<label>([^<]+)<\/label>\s*<imagelabel>([^<]+)<\/imagelabel>/.exec(
        live,
      );
    expect(label).not.toBeNull();
    const [, processLabel, imageLabel] = label as RegExpExecArray;
    expect(processLabel).toMatch(/^system_u:system_r:svirt_tcg_t:s0:c\d+,c\d+$/);
    const [a] = allocations(uuid);
    expect(a).toMatchObject({ model: 'selinux', label: processLabel, imageLabel, source: 'hook', endedAt: null });
    // The image label we recorded is the one libvirt put on the writable disk, and our
    // expected relabel set is what libvirt did to all three.
    expect(xattr(rw)).toBe(imageLabel);
    const expected = Object.fromEntries((a?.disks ?? []).map((d) => [d.path, [d.mode, d.expectedLabel]]));
    expect(expected).toEqual({
      [rw]: ['rw', imageLabel],
      [ro]: ['ro', 'system_u:object_r:virt_content_t:s0'],
      [shared]: ['shared', 'system_u:object_r:svirt_image_t:s0'],
    });
    for (const d of a?.disks ?? []) expect(xattr(d.path)).toBe(d.expectedLabel);

    // An AVC with that scontext, ingested afterwards, is the guest's by name.
    const t = Date.now();
    const avc = `type=AVC msg=audit(${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:4242): avc:  denied  { read } for  pid=${a?.pid} comm="qemu-system-x86" name="secret" dev="vda1" ino=7 scontext=${processLabel} tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0`;
    writeFileSync(join(T, 'avc.log'), `${avc}\n`);
    const store = openStore(DB);
    try {
      await ingestFiles(store, [join(T, 'avc.log')], { localHost: a?.host as string });
      const [d] = queryDenials(store);
      expect(d?.source.allocation?.name).toBe('web');
      expect(d?.kind).toBe('unlabeled-target');
    } finally {
      store.close();
    }
  });

  it('4. two guests at once get different categories; the same guest twice gets two allocations, one closed', async () => {
    const uuid2 = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';
    const disk2 = image('web2.qcow2', 'qcow2');
    // web is still running from the previous test; web2 starts beside it.
    const r = start(
      'web2',
      domainXml('web2', uuid2, [{ file: disk2, type: 'qcow2' }], "<seclabel type='dynamic' model='selinux'/>"),
    );
    expect(r.stderr).toBe('');
    const web = allocations('4dea22b3-1d52-d8f3-2516-782e98ab3fa0')[0];
    const web2 = allocations(uuid2)[0];
    expect(web?.endedAt).toBeNull();
    expect(web2?.endedAt).toBeNull();
    expect(web2?.categories).not.toBe(web?.categories);
    destroy('web2');
    const again = start('web2', readFileSync(join(T, 'web2.xml'), 'utf8'));
    expect(again.stderr).toBe('');
    const both = allocations(uuid2);
    expect(both).toHaveLength(2);
    expect(both.map((x) => x.endedAt === null)).toEqual([true, false]);
    destroy('web2');
    destroy('web');
  });

  it('5. a hook that fails (database unwritable) still lets the guest start; strict mode refuses it with our message', async () => {
    const blocker = join(T, 'not-a-directory');
    writeFileSync(blocker, '');
    const uuid = '2f1b9a7e-0c4d-4e8f-9a6b-5d3c2e1f0a9b';
    const xml = domainXml(
      'strict',
      uuid,
      [{ file: image('strict.qcow2', 'qcow2'), type: 'qcow2' }],
      "<seclabel type='none'/>",
    );
    // libvirt runs the script at the same path each time: rewriting it changes the next call.
    await cli(['install-hook', '--dir', HOOKS, '--db', join(blocker, 'audit.db')]);
    const lenient = start('strict', xml);
    expect(lenient.status).toBe(0);
    expect(virsh('domstate', 'strict').stdout.trim()).toBe('running');
    destroy('strict');

    await cli(['install-hook', '--dir', HOOKS, '--db', join(blocker, 'audit.db'), '--strict']);
    const strict = start('strict', xml);
    expect(strict.status).not.toBe(0);
    expect(strict.stderr).toMatch(/svirt-audit hook \(strict (prepare|start)\): cannot create database/);
    expect(virsh('domstate', 'strict').status).not.toBe(0);
    await cli(['install-hook', '--dir', HOOKS, '--db', DB]);
  });

  it('6. a qcow2 overlay on a backing file: libvirt labels the backing file read-only content, and our expected set lists it', () => {
    const uuid = '6a0c3b52-8d1e-4f7a-b9c2-0e5d4f3a2b1c';
    const base = image('layered-base.qcow2', 'qcow2');
    const overlay = join(T, 'images', 'layered.qcow2');
    execFileSync('qemu-img', ['create', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay], { stdio: 'ignore' });
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:virt_image_t:s0', overlay]);
    const r = start(
      'layered',
      domainXml('layered', uuid, [{ file: overlay, type: 'qcow2' }], "<seclabel type='dynamic' model='selinux'/>"),
    );
    expect(r.stderr).toBe('');
    const [a] = allocations(uuid);
    const expected = Object.fromEntries((a?.disks ?? []).map((d) => [d.path, [d.mode, d.expectedLabel]]));
    // What libvirt's SELinux driver did to the chain is what we expected it to do.
    expect(expected).toEqual({
      [overlay]: ['rw', a?.imageLabel],
      [base]: ['ro', 'system_u:object_r:virt_content_t:s0'],
    });
    for (const d of a?.disks ?? []) expect(xattr(d.path)).toBe(d.expectedLabel);
    destroy('layered');
  });
});
