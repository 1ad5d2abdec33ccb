import { chmodSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jitlessFlags } from '../../libvirt-hook/install-hook.js';
import { listAllocations } from '../../store/allocations.js';
import { openStore } from '../../store/store.js';
import { requireBuilt } from '../helpers/built.js';
import { cli, cliProcess } from '../helpers/cli-run.js';
import { fixture, REPO_ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

describe('the hook as libvirt runs it (a real process, XML on stdin)', () => {
  it('records at start and ends at stopped, printing nothing on stdout', async () => {
    const db = join(scratch.dir, 'ok.db');
    const xml = fixture('domains/selinux-three-disks.xml');
    const start = await cliProcess(['hook', 'qemu', 'web1', 'start', 'begin', '-'], {
      env: { SVIRT_AUDIT_DB: db },
      stdin: xml,
    });
    expect(start).toEqual({ status: 0, stdout: '', stderr: '' });
    await cliProcess(['hook', 'qemu', 'web1', 'stopped', 'end', '-'], { env: { SVIRT_AUDIT_DB: db }, stdin: xml });
    const store = openStore(db);
    const rows = listAllocations(store);
    store.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.endedAt).not.toBeNull();
  });

  it('a domain name that looks like an option is data: recorded, exit 0, no usage text, no file created', async () => {
    const db = join(scratch.dir, 'names.db');
    const cwd = join(scratch.dir, 'hook-cwd');
    mkdirSync(cwd);
    const xml = fixture('domains/selinux-three-disks.xml');
    for (const name of ['-x', '--help', '-V', '--version', '--db=x.db', '--db']) {
      for (const op of ['start', 'stopped']) {
        const r = await cliProcess(['hook', 'qemu', name, op, op === 'start' ? 'begin' : 'end', '-'], {
          env: { SVIRT_AUDIT_DB: db },
          stdin: xml,
          cwd,
        });
        expect({ name, ...r }).toEqual({ name, status: 0, stdout: '', stderr: '' });
      }
    }
    expect(readdirSync(cwd)).toEqual([]);
    const store = openStore(db);
    const rows = listAllocations(store);
    store.close();
    expect(rows).toHaveLength(6);
    expect(rows.every((a) => a.endedAt !== null)).toBe(true);
    // --db before the object still names the database; hook --help is still help.
    const named = join(scratch.dir, 'named.db');
    expect(
      (await cliProcess(['hook', '--db', named, 'qemu', '-x', 'start', 'begin', '-'], { stdin: xml })).status,
    ).toBe(0);
    expect(statSync(named).size).toBeGreaterThan(0);
    expect((await cliProcess(['hook', '--help'])).stdout).toMatch(/Never fails a VM start/);
  });

  it('SVIRT_AUDIT_REQUIRE_ENFORCING=1: a start on a permissive host, or of an unconfined VM, is refused (exit 1); an enforcing host starts', async () => {
    const selinuxfs = join(scratch.dir, 'gate-selinuxfs');
    mkdirSync(selinuxfs);
    const db = join(scratch.dir, 'gate.db');
    const env = { SVIRT_AUDIT_DB: db, SVIRT_AUDIT_SELINUXFS: selinuxfs, SVIRT_AUDIT_REQUIRE_ENFORCING: '1' };
    const start = (xml: string) =>
      cliProcess(['hook', 'qemu', 'web1', 'start', 'begin', '-'], { env, stdin: fixture(`domains/${xml}`) });
    writeFileSync(join(selinuxfs, 'enforce'), '0\n');
    const permissive = await start('selinux-three-disks.xml');
    expect(permissive.status).toBe(1);
    expect(permissive.stderr).toMatch(
      /svirt-audit hook \(web1 start\): refusing to start: selinux is permissive on this host/,
    );
    writeFileSync(join(selinuxfs, 'enforce'), '1\n');
    const unconfined = await start('seclabel-none.xml');
    expect(unconfined.status).toBe(1);
    expect(unconfined.stderr).toMatch(/the VM is not confined \(model none\)/);
    const enforcing = await start('selinux-three-disks.xml');
    expect(enforcing).toEqual({ status: 0, stdout: '', stderr: '' });
    const store = openStore(db);
    const rows = listAllocations(store);
    store.close();
    expect(rows).toHaveLength(1);
  });

  it('an unwritable database: exit 0 and a message for libvirt’s log; strict mode exits 1', async () => {
    const blocker = join(scratch.dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const env = { SVIRT_AUDIT_DB: join(blocker, 'audit.db') };
    const xml = fixture('domains/selinux-three-disks.xml');
    const lenient = await cliProcess(['hook', 'qemu', 'web1', 'start', 'begin', '-'], { env, stdin: xml });
    expect(lenient.status).toBe(0);
    expect(lenient.stderr).toMatch(/svirt-audit hook \(web1 start\): cannot create database/);
    const strict = await cliProcess(['hook', 'qemu', 'web1', 'start', 'begin', '-'], {
      env: { ...env, SVIRT_AUDIT_HOOK_STRICT: '1' },
      stdin: xml,
    });
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/cannot create database/);
  });

  it('a database locked by another writer: gives up after its timeout and exits 0', async () => {
    const db = join(scratch.dir, 'locked.db');
    const holder = openStore(db);
    holder.db.exec('BEGIN IMMEDIATE');
    try {
      const r = await cliProcess(['hook', 'qemu', 'web1', 'start', 'begin', '-'], {
        env: { SVIRT_AUDIT_DB: db, SVIRT_AUDIT_HOOK_TIMEOUT_MS: '200' },
        stdin: fixture('domains/selinux-three-disks.xml'),
      });
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/locked by another writer/);
    } finally {
      holder.db.exec('ROLLBACK');
      holder.close();
    }
  });

  it('bad XML at start: exit 0 with the reason', async () => {
    const r = await cliProcess(['hook', 'qemu', 'half', 'start', 'begin', '-'], {
      env: { SVIRT_AUDIT_DB: join(scratch.dir, 'bad.db') },
      stdin: fixture('domains/broken-not-xml.xml'),
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/not well-formed/);
  });
});

describe('install-hook', () => {
  it('writes an executable qemu.d script that runs our hook with the database baked in', async () => {
    const hooks = join(scratch.dir, 'hooks');
    const r = await cli(['install-hook', '--dir', hooks, '--db', '/var/lib/svirt-audit/x.db']);
    expect(r.status).toBe(0);
    const script = join(hooks, 'qemu.d', 'svirt-audit');
    expect(statSync(script).mode & 0o777).toBe(0o755);
    const text = readFileSync(script, 'utf8');
    expect(text).toMatch(/^#!\/bin\/sh\n/);
    expect(text).toContain("SVIRT_AUDIT_DB='/var/lib/svirt-audit/x.db'");
    expect(text).toMatch(
      /SVIRT_AUDIT_NODE='.*node'\nSVIRT_AUDIT_JIT=off\nSVIRT_AUDIT_JITLESS_FLAGS='--jitless( --no-expose-wasm)?'\nexport SVIRT_AUDIT_JITLESS_FLAGS\nexport SVIRT_AUDIT_NODE SVIRT_AUDIT_JIT\nexec '.*bin\/svirt-audit' hook qemu "\$@"/,
    );
    expect(r.stdout).toMatch(/SIGHUP/);
  });

  it('the launcher runs without the JIT silently on this Node, told the flags or not', async () => {
    const { spawnSync } = await import('node:child_process');
    const launcher = join(REPO_ROOT, 'bin', 'svirt-audit');
    const node = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
    for (const env of [
      { ...node, SVIRT_AUDIT_JIT: 'off' },
      { ...node, SVIRT_AUDIT_JIT: 'off', SVIRT_AUDIT_JITLESS_FLAGS: jitlessFlags(process.versions.node) },
    ]) {
      const run = spawnSync(launcher, ['--version'], { env, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
    }
  });

  it('the installed script works when run the way libvirt runs it', async () => {
    const hooks = join(scratch.dir, 'hooks-run');
    const db = join(scratch.dir, 'via-script.db');
    await cli(['install-hook', '--dir', hooks, '--style', 'qemu', '--db', db]);
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(join(hooks, 'qemu'), ['tiny', 'started', 'begin', '-'], {
      input: fixture('domains/seclabel-none.xml'),
      env: {},
    });
    // Nothing on stderr: libvirt logs it at every VM start (Node 20 and 22 warned without the JIT).
    expect(run.stderr.toString()).toBe('');
    expect(run.status).toBe(0);
    const store = openStore(db);
    expect(listAllocations(store).map((a) => [a.name, a.model])).toEqual([['tiny', 'none']]);
    store.close();
  });

  it('on an SELinux host it must label the script for libvirtd, and says so loudly when it cannot', async () => {
    // This kernel has no SELinux: chcon fails as it would where the label cannot be set.
    // (The lab, test/lab, checks the labelled hook under a real enforcing libvirtd.)
    const selinuxfs = join(scratch.dir, 'selinuxfs');
    mkdirSync(selinuxfs);
    writeFileSync(join(selinuxfs, 'enforce'), '1\n');
    const hooks = join(scratch.dir, 'hooks-selinux');
    const r = await cli(['install-hook', '--dir', hooks, '--db', join(scratch.dir, 'x.db')], {
      env: { SVIRT_AUDIT_SELINUXFS: selinuxfs },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /could not label it bin_t .*libvirtd may not run it and then refuses every VM start; run: chcon -t bin_t /,
    );
    const plain = await cli([
      'install-hook',
      '--dir',
      join(scratch.dir, 'hooks-plain'),
      '--db',
      join(scratch.dir, 'x.db'),
    ]);
    expect(plain.stdout).not.toMatch(/bin_t/);
  });

  it("on an AppArmor host it adds a rule for the hook's program to libvirtd's local profile, once, and says so loudly when it cannot apply it", async () => {
    // This kernel has no AppArmor: apparmor_parser cannot load the profile here, as on a
    // host where the reload fails. (The lab, test/lab, runs the hook under a real libvirtd
    // profile: without the rule, libvirt refused every VM start.)
    const enabled = join(scratch.dir, 'apparmor-enabled');
    writeFileSync(enabled, 'Y\n');
    const dir = join(scratch.dir, 'apparmor.d');
    mkdirSync(join(dir, 'local'), { recursive: true });
    writeFileSync(
      join(dir, 'usr.sbin.libvirtd'),
      'profile libvirtd /usr/sbin/libvirtd {\n  #include <local/usr.sbin.libvirtd>\n}\n',
    );
    writeFileSync(join(dir, 'local', 'usr.sbin.libvirtd'), "# the admin's own rule\n/opt/theirs/bin/x PUx,\n");
    const env = { SVIRT_AUDIT_APPARMOR_ENABLED: enabled, SVIRT_AUDIT_APPARMOR_DIR: dir };
    const install = () =>
      cli(['install-hook', '--dir', join(scratch.dir, 'hooks-apparmor'), '--db', join(scratch.dir, 'x.db')], { env });
    const program = realpathSync(join(REPO_ROOT, 'bin', 'svirt-audit'));
    for (let i = 0; i < 2; i++) {
      const r = await install();
      expect(r.stdout).toContain(
        `could not reload libvirtd's profile after adding "${program} PUx," to ${join(dir, 'local', 'usr.sbin.libvirtd')}`,
      );
      expect(r.stdout).toContain(`run: apparmor_parser -r '${join(dir, 'usr.sbin.libvirtd')}'`);
      expect(r.status).toBe(1);
    }
    // The admin's rule kept; ours once, however often install-hook ran.
    const local = readFileSync(join(dir, 'local', 'usr.sbin.libvirtd'), 'utf8');
    expect(local).toMatch(/^# the admin's own rule\n\/opt\/theirs\/bin\/x PUx,\n# svirt-audit libvirt hook: begin/);
    expect(local.split(`${program} PUx,`).length).toBe(2);
    // Where libvirtd has no profile, or AppArmor is off: nothing to do.
    const off = await cli(
      ['install-hook', '--dir', join(scratch.dir, 'hooks-apparmor'), '--db', join(scratch.dir, 'x.db')],
      {
        env: { ...env, SVIRT_AUDIT_APPARMOR_DIR: join(scratch.dir, 'none') },
      },
    );
    expect(off.status).toBe(0);
    expect(off.stdout).not.toMatch(/could not|allowed/);
  });

  it("refuses to replace someone else's qemu script unless --force", async () => {
    const hooks = join(scratch.dir, 'hooks-foreign');
    mkdirSync(hooks);
    writeFileSync(join(hooks, 'qemu'), '#!/bin/sh\necho theirs\n');
    chmodSync(join(hooks, 'qemu'), 0o755);
    const refused = await cli(['install-hook', '--dir', hooks, '--style', 'qemu']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/not written by svirt-audit/);
    expect(readFileSync(join(hooks, 'qemu'), 'utf8')).toContain('theirs');
    expect((await cli(['install-hook', '--dir', hooks, '--style', 'qemu', '--force'])).status).toBe(0);
  });
});
