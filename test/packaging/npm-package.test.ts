/**
 * The npm package as a user installs it: packed, installed globally into a fresh prefix
 * (the native addon and better-sqlite3 built there), then `--version`, `demo`, and a real
 * `launch` through the libselinux shim, all from the installed copy.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAllocations } from '../../store/allocations.js';
import { openStore } from '../../store/store.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { installGlobally, packTarball } from '../helpers/npm-pack.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir('svirt-audit-npm-');
const prefix = join(scratch.dir, 'prefix');
const bin = join(prefix, 'bin', 'svirt-audit');
const installed = join(prefix, 'lib', 'node_modules', 'svirt-audit');
const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let tarball = '';
let npmOutput = '';

beforeAll(() => {
  tarball = packTarball(scratch.dir);
  const run = installGlobally(tarball, prefix);
  npmOutput = run.output;
  if (run.status !== 0) throw new Error(`npm install -g failed:\n${run.output}`);
}, 600_000);
afterAll(() => scratch.cleanup());

describe('the npm package', () => {
  it('ships the program, the addon sources and the docs, and not the benches or tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toContain('package/native/binding.gyp');
    expect(files).toContain('package/native/src/addon.cc');
    expect(files).toContain('package/dist/cli/main.js');
    expect(files).toContain('package/bin/svirt-audit');
    expect(files.filter((f) => /^package\/(dist\/)?(bench|test)\//.test(f))).toEqual([]);
  });

  it('installs with no warning for the user to act on, the addon built', () => {
    expect(npmOutput.split('\n').filter((l) => /\b(warn|WARN|ERR)\b/.test(l))).toEqual([]);
    expect(existsSync(join(installed, 'native', 'build', 'Release', 'svirt_native.node'))).toBe(true);
  });

  it('answers --version and runs the demo from the installed copy', () => {
    expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);
    const demo = spawnSync(bin, ['demo', '--db', join(scratch.dir, 'demo.db')], { encoding: 'utf8' });
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/cross-vm/);
  });

  const noShim =
    process.getuid?.() !== 0
      ? 'needs root to set security.selinux xattrs'
      : spawnSync('sh', ['-c', 'command -v gcc && command -v setfattr']).status !== 0
        ? 'needs gcc and setfattr'
        : undefined;
  if (noShim) console.log(`skipped: launch from the npm package: ${noShim}`);
  it.runIf(!noShim)('launches a program with its disk relabelled, through the libselinux shim', () => {
    const shim = join(scratch.dir, 'selinux-shim.so');
    execFileSync('gcc', ['-shared', '-fPIC', '-o', shim, join(REPO_ROOT, 'test', 'native', 'selinux-shim.c')]);
    const disk = join(scratch.dir, 'web1.qcow2');
    writeFileSync(disk, '');
    execFileSync('setfattr', ['-n', 'security.selinux', '-v', 'system_u:object_r:virt_image_t:s0', disk]);
    const db = join(scratch.dir, 'launch.db');
    const uuid = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
    const launch = spawnSync(
      bin,
      [
        'launch',
        '--db',
        db,
        '--uuid',
        uuid,
        '--vm',
        'web1',
        '--model',
        'selinux',
        '--disk',
        disk,
        '--',
        '/bin/sh',
        '-c',
        'echo $$',
      ],
      { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: shim } },
    );
    expect(launch.stderr).toBe('');
    expect(launch.status).toBe(0);
    const store = openStore(db);
    try {
      const [allocation] = listAllocations(store);
      // exec replaced the launcher: the program's pid is the one recorded.
      expect(allocation).toMatchObject({ model: 'selinux', source: 'launch', pid: Number(launch.stdout.trim()) });
    } finally {
      store.close();
    }
  });
});
