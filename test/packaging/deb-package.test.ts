/**
 * The Debian package as an admin installs it: packaging/build-deb.sh, then
 * `apt-get install ./svirt-audit_*.deb` in a clean Debian root (mmdebstrap, trixie, whose
 * nodejs is 20; cached beside the lab's images), used as root and as a user, then purged.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-store.js';

const CACHE = process.env.SVIRT_AUDIT_LAB_CACHE ?? '/var/cache/svirt-audit-lab';
// Debian 13: its nodejs (20.19) is the major version the package's addons are built for.
const ROOT_PACKAGES = ['nodejs', 'ca-certificates'];
const ROOT_TARBALL = join(CACHE, `deb-root-trixie-${ROOT_PACKAGES.join('+')}.tar`);

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (chroot, dpkg in a Debian root)';
  for (const tool of ['dpkg-deb', 'mmdebstrap', 'objdump']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `${tool} is not installed (apt-get install dpkg-dev mmdebstrap binutils; .ci/run does)`;
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) return `the clean root's nodejs is 20, this Node is ${major} (the package's addons follow it)`;
  return undefined;
}
const skip = unavailable();
if (skip) console.log(`skipped: the Debian package: ${skip}`);

const scratch = tempDir('svirt-audit-deb-');
const root = join(scratch.dir, 'root');
let deb = '';
let procMounted = false;

/** A command in the clean root, as root unless `user` is given. */
function inRoot(argv: string[], options: { user?: number; env?: Record<string, string> } = {}) {
  const prefix =
    options.user === undefined
      ? []
      : ['setpriv', `--reuid=${options.user}`, `--regid=${options.user}`, '--clear-groups'];
  return spawnSync(
    'chroot',
    [
      root,
      'env',
      '-i',
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/tmp',
      'DEBIAN_FRONTEND=noninteractive',
      ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ...prefix,
      ...argv,
    ],
    { encoding: 'utf8' },
  );
}

/** Every file in the root (not directories), as paths inside it, minus dpkg's and apt's own bookkeeping. */
function filesInRoot(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== join(root, 'proc')) walk(path);
      } else out.add(`/${relative(root, path)}`);
    }
  };
  walk(root);
  for (const f of out) if (/^\/(var\/lib\/dpkg|var\/lib\/apt|var\/log|var\/cache|tmp)\//.test(f)) out.delete(f);
  return out;
}

beforeAll(() => {
  if (skip) return;
  deb = execFileSync(join(REPO_ROOT, 'packaging', 'build-deb.sh'), [scratch.dir], { encoding: 'utf8' }).trim();
  if (!existsSync(ROOT_TARBALL)) {
    mkdirSync(CACHE, { recursive: true });
    const partial = ROOT_TARBALL.replace(/\.tar$/, '.partial.tar'); // mmdebstrap picks the format by the extension
    execFileSync('mmdebstrap', ['--variant=apt', `--include=${ROOT_PACKAGES.join(',')}`, 'trixie', partial], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    renameSync(partial, ROOT_TARBALL);
  }
  mkdirSync(root);
  execFileSync('tar', ['-C', root, '-xf', ROOT_TARBALL]);
  execFileSync('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
  procMounted = true;
  copyFileSync(deb, join(root, 'tmp', basename(deb)));
}, 900_000);

afterAll(() => {
  if (procMounted) spawnSync('umount', [join(root, 'proc')]);
  scratch.cleanup();
});

describe.skipIf(skip)('the Debian package', () => {
  it('holds the program, the unit, the inactive auditd plugin, the SELinux module and the docs', () => {
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    for (const path of [
      './usr/bin/svirt-audit -> ../lib/svirt-audit/bin/svirt-audit',
      './usr/lib/svirt-audit/dist/cli/main.js',
      './usr/lib/svirt-audit/native/build/Release/svirt_native.node',
      './usr/lib/svirt-audit/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      './usr/lib/systemd/system/svirt-audit.service',
      './etc/audit/plugins.d/svirt-audit.conf',
      './usr/share/svirt-audit/selinux/svirt-audit.cil',
      './usr/share/doc/svirt-audit/README.md',
      './usr/share/doc/svirt-audit/copyright',
    ])
      expect(files).toContain(path);
    expect(files).not.toMatch(/dist\/bench\//);
    const control = execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' });
    expect(control).toMatch(/nodejs \(>= 20\.11\), nodejs \(<< 21\), libc6 \(>= 2\.\d+\)/);
  });

  it('installs with apt-get into a clean Debian root, works for root and for a user, and purges to the database alone', () => {
    const before = filesInRoot();
    const install = inRoot(['apt-get', 'install', '-y', `/tmp/${basename(deb)}`]);
    expect(install.status, install.stdout + install.stderr).toBe(0);
    expect(install.stdout).toMatch(/nothing runs yet/);

    expect(statSync(join(root, 'var/lib/svirt-audit')).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(root, 'etc/audit/plugins.d/svirt-audit.conf'), 'utf8')).toMatch(
      /^active = no$[\s\S]*^path = \/usr\/bin\/svirt-audit$/m,
    );
    expect(readFileSync(join(root, 'usr/lib/systemd/system/svirt-audit.service'), 'utf8')).toMatch(
      /^ExecStart=\/usr\/bin\/svirt-audit serve /m,
    );
    const version = inRoot(['svirt-audit', '--version']);
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(
      (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    // A user (nobody) runs the demo in a file of their own.
    const demo = inRoot(['svirt-audit', 'demo', '--db', '/tmp/demo.db'], { user: 65534 });
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/cross-vm/);

    // Root's default database, and the hook installed as the docs say.
    expect(inRoot(['svirt-audit', 'vms']).status).toBe(0);
    mkdirSync(join(root, 'etc/libvirt/hooks'), { recursive: true });
    expect(inRoot(['svirt-audit', 'install-hook']).status).toBe(0);
    expect(existsSync(join(root, 'etc/libvirt/hooks/qemu.d/svirt-audit'))).toBe(true);

    const purge = inRoot(['dpkg', '--purge', 'svirt-audit']);
    expect(purge.status, purge.stdout + purge.stderr).toBe(0);
    const left = [...filesInRoot()].filter((f) => !before.has(f));
    expect(left).toEqual(['/var/lib/svirt-audit/audit.db']);

    // Asked to, purge takes the database too.
    expect(inRoot(['apt-get', 'install', '-y', `/tmp/${basename(deb)}`]).status).toBe(0);
    expect(inRoot(['dpkg', '--purge', 'svirt-audit'], { env: { SVIRT_AUDIT_PURGE_DATABASE: 'yes' } }).status).toBe(0);
    expect([...filesInRoot()].filter((f) => !before.has(f))).toEqual([]);
    expect(existsSync(join(root, 'var/lib/svirt-audit'))).toBe(false);
  });
});
