/** The import rules of docs/architecture.md: each folder imports only the folders its row allows. */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/fixtures.js';

const BELOW: Record<string, string[]> = {
  core: [],
  native: [],
  store: ['core'],
  allocation: ['core', 'store', 'native'],
  'libvirt-hook': ['core', 'store', 'native', 'allocation'],
  launch: ['core', 'store', 'native', 'allocation'],
  demo: ['core', 'store', 'allocation', 'libvirt-hook'],
  collector: ['core', 'store'],
  report: ['core', 'store'],
  retention: ['core', 'store'],
  fleet: ['core', 'store'],
  alerts: ['core', 'store'],
  syslog: ['core', 'store', 'native'],
  // The page's browser code (dashboard/app) and its build; api/routes/dashboard.ts serves what it builds.
  dashboard: ['core'],
  api: ['core', 'native', 'store', 'allocation', 'collector', 'report', 'retention', 'fleet', 'alerts', 'syslog'],
  cli: [
    'core',
    'native',
    'store',
    'allocation',
    'libvirt-hook',
    'launch',
    'demo',
    'collector',
    'report',
    'retention',
    'fleet',
    'alerts',
    'syslog',
    'api',
  ],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe('folders', () => {
  it('import only the folders docs/architecture.md allows', () => {
    const broken: string[] = [];
    for (const [folder, allowed] of Object.entries(BELOW)) {
      for (const file of sources(join(REPO_ROOT, folder))) {
        for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
          const target = relative(REPO_ROOT, join(file, '..', spec as string)).split('/')[0] as string;
          if (target !== folder && !allowed.includes(target)) broken.push(`${relative(REPO_ROOT, file)} → ${spec}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('every folder of the program has a row', () => {
    const program = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    expect(program.include.filter((f) => f !== 'bench').sort()).toEqual(Object.keys(BELOW).sort());
  });
});
