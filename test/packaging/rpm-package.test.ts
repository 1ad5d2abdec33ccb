/**
 * The RPM for RHEL-family hosts, built with rpmbuild (Debian's rpm package): the same
 * layout as the Debian package, its requirements, and rpmlint without errors (what it
 * reports and we mean is filtered, with reasons, in packaging/rpm/svirt-audit.rpmlintrc).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/temp-store.js';

function unavailable(): string | undefined {
  for (const tool of ['rpmbuild', 'rpmlint', 'dpkg-deb', 'objdump']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `${tool} is not installed (apt-get install rpm rpmlint binutils; .ci/run does)`;
  }
  return undefined;
}
const skip = unavailable();
if (skip) console.log(`skipped: the RPM: ${skip}`);

const scratch = tempDir('svirt-audit-rpm-');
let rpm = '';
let deb = '';
beforeAll(() => {
  if (skip) return;
  rpm = execFileSync(join(REPO_ROOT, 'packaging', 'build-rpm.sh'), [scratch.dir], { encoding: 'utf8' }).trim();
  deb = execFileSync(join(REPO_ROOT, 'packaging', 'build-deb.sh'), [scratch.dir], { encoding: 'utf8' }).trim();
}, 600_000);
afterAll(() => scratch.cleanup());

describe.skipIf(skip)('the RPM', () => {
  it('lists the layout of the Debian package', () => {
    const rpmFiles = execFileSync('rpm', ['-qlp', rpm], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter((f) => !f.startsWith('/usr/share/licenses/'));
    // dpkg-deb -c: "mode owner size date time ./path[ -> target]"; directories end in /.
    const debFiles = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => (l.split(/\s+/)[5] as string).replace(/^\./, '').replace(/\/$/, ''))
      .filter((f) => f !== '' && f !== '/usr/share/doc/svirt-audit/copyright');
    // rpm lists the directories it owns; the Debian package also lists the shared ones (/usr, /etc/audit…).
    const owned = new Set(rpmFiles);
    expect(rpmFiles.filter((f) => !debFiles.includes(f))).toEqual([]);
    expect(
      debFiles.filter(
        (f) =>
          !owned.has(f) &&
          ![
            '/etc',
            '/etc/audit',
            '/etc/audit/plugins.d',
            '/usr',
            '/usr/bin',
            '/usr/lib',
            '/usr/lib/systemd',
            '/usr/lib/systemd/system',
            '/usr/share',
            '/usr/share/doc',
          ].includes(f),
      ),
    ).toEqual([]);
  });

  it('requires the Node major version its addons were built for', () => {
    const requires = execFileSync('rpm', ['-qpR', rpm], { encoding: 'utf8' });
    const major = Number(process.versions.node.split('.')[0]);
    expect(requires).toContain(`nodejs >= 1:${major}.11`);
    expect(requires).toContain(`nodejs < 1:${major + 1}`);
  });

  it('passes rpmlint without errors', () => {
    const lint = spawnSync('rpmlint', ['-r', join(REPO_ROOT, 'packaging', 'rpm', 'svirt-audit.rpmlintrc'), rpm], {
      encoding: 'utf8',
    });
    expect(lint.stdout).toMatch(/ 0 errors, /);
  });
});
