/**
 * The native addon builds where hypervisors still run old C libraries: compiled in a
 * Debian 11 root (glibc 2.31, gcc 10; mmdebstrap, cached beside the lab's images) with the
 * flags of native/binding.gyp, it links against nothing newer than glibc 2.28 (RHEL 8),
 * and the result loads and answers here.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-store.js';

const CACHE = process.env.SVIRT_AUDIT_LAB_CACHE ?? '/var/cache/svirt-audit-lab';
const ROOT_TARBALL = join(CACHE, 'build-root-bullseye-g++.tar');
const NODE_HEADERS = resolve(dirname(process.execPath), '..', 'include', 'node');
const ADDON_API = join(REPO_ROOT, 'node_modules', 'node-addon-api');

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (chroot)';
  for (const tool of ['mmdebstrap', 'objdump']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  if (!existsSync(join(NODE_HEADERS, 'node_api.h'))) return `no Node headers in ${NODE_HEADERS}`;
  return undefined;
}
const skip = unavailable();
if (skip) console.log(`skipped: the addon on Debian 11's glibc: ${skip}`);

const scratch = tempDir('svirt-audit-glibc-');
afterAll(() => scratch.cleanup());

/** Symbol versions as `2.28` etc., newest last. */
const glibcVersions = (file: string): string[] =>
  [...new Set(execFileSync('objdump', ['-T', file], { encoding: 'utf8' }).match(/GLIBC_[0-9.]+/g) ?? [])]
    .map((v) => v.slice('GLIBC_'.length))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

describe.skipIf(skip)('the native addon on an old glibc', () => {
  it('compiles in a Debian 11 root, needs at most glibc 2.28, and loads', () => {
    if (!existsSync(ROOT_TARBALL)) {
      mkdirSync(CACHE, { recursive: true });
      const partial = ROOT_TARBALL.replace(/\.tar$/, '.partial.tar'); // mmdebstrap picks the format by the extension
      execFileSync('mmdebstrap', ['--variant=apt', '--include=g++', 'bullseye', partial], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      renameSync(partial, ROOT_TARBALL);
    }
    const root = join(scratch.dir, 'root');
    mkdirSync(root);
    execFileSync('tar', ['-C', root, '-xf', ROOT_TARBALL]);
    cpSync(join(REPO_ROOT, 'native', 'src'), join(root, 'build', 'src'), { recursive: true });
    cpSync(NODE_HEADERS, join(root, 'build', 'node'), { recursive: true });
    cpSync(ADDON_API, join(root, 'build', 'node-addon-api'), { recursive: true });
    expect(execFileSync('chroot', [root, 'ldd', '--version'], { encoding: 'utf8' })).toMatch(/2\.31/);
    // native/binding.gyp's defines and flags.
    const compile = spawnSync(
      'chroot',
      [
        root,
        'g++',
        '-shared',
        '-fPIC',
        '-O2',
        '-std=c++17',
        '-Wall',
        '-Wextra',
        '-DNAPI_VERSION=8',
        '-DNAPI_CPP_EXCEPTIONS',
        '-I/build/node',
        '-I/build/node-addon-api',
        '-o',
        '/build/svirt_native.node',
        '/build/src/addon.cc',
        '-ldl',
      ],
      { encoding: 'utf8' },
    );
    expect(compile.status, compile.stderr).toBe(0);
    const built = join(root, 'build', 'svirt_native.node');
    const newest = glibcVersions(built).at(-1) as string;
    expect(newest.localeCompare('2.28', 'en', { numeric: true }), `needs glibc ${newest}`).toBeLessThanOrEqual(0);
    const addon = createRequire(import.meta.url)(built) as {
      isSelinuxEnabled(): boolean;
      getXattr(p: string, n: string): string | null;
    };
    expect(typeof addon.isSelinuxEnabled()).toBe('boolean');
    expect(addon.getXattr(built, 'user.svirt-audit-none')).toBeNull();
  }, 900_000);
});
