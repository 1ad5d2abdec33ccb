/** The npm package as users get it: `npm pack` of the built tree, installed as they would. */

import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';

/**
 * `npm pack` into `dest`; returns the tarball's path. Scripts are skipped: `npm test`
 * built dist/ already, and rebuilding it here would rewrite files other tests are loading.
 */
export function packTarball(dest: string): string {
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dest], { cwd: REPO_ROOT, stdio: 'ignore' });
  const [name] = readdirSync(dest).filter((f) => f.endsWith('.tgz'));
  if (!name) throw new Error(`npm pack left no tarball in ${dest}`);
  return join(dest, name);
}

/**
 * `npm install -g` of the tarball into `prefix`, as README's Install section says (the
 * two packages with install scripts allowed by name). Returns npm's output.
 */
export function installGlobally(tarball: string, prefix: string): { status: number | null; output: string } {
  const run = spawnSync(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      `--allow-scripts=better-sqlite3,${tarball}`,
      tarball,
    ],
    { encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'warn' } },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}
