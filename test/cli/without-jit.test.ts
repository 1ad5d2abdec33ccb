/**
 * Every command as an enforcing SELinux host runs it: through the launcher with the JIT
 * off (`--jitless`, and on Node 20 and 22 `--no-expose-wasm`: no WebAssembly). The lab
 * caught the read commands dying there once they could load the PostgreSQL client, whose
 * runtime check touched Node's fetch, which needs WebAssembly.
 */

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFleetScenario, shipFleetScenario } from '../helpers/fleet-scenario.js';
import { type DemoDatabase, demoDatabase } from '../helpers/demo-database.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/postgres.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const launcher = join(REPO_ROOT, 'bin', 'svirt-audit');
const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, SVIRT_AUDIT_JIT: 'off' };
const withoutJit = (args: string[], extra: Record<string, string> = {}) =>
  spawnSync(launcher, args, { env: { ...env, ...extra }, encoding: 'utf8' });

const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/cli without-jit, fleet part: skipped: ${unavailable}`);

let demo: DemoDatabase;
let db = '';
beforeAll(async () => {
  demo = await demoDatabase();
  ({ db } = demo);
});
afterAll(() => demo.cleanup());

describe('without the JIT', () => {
  it.each([
    ['vms', '--json'],
    ['allocations', '--json'],
    ['denials', '--json'],
    ['summary', '--json'],
    ['explain', '1', '--json'],
    ['export', '--format', 'ecs'],
  ])('%s runs, silent on stderr', (...args) => {
    const run = withoutJit([...args, '--db', db]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(2);
  });

  const pgRun = unavailable ? it.skip : it;
  let t: TempStore;
  let fleet: TestDatabase;
  let urls: { hosts: Record<string, string>; reader: string };
  pgRun('the fleet commands run too: denials over the fleet, ship --status', async () => {
    t = openTempStore();
    try {
      await buildFleetScenario(t.store, t.dir, Date.now());
      fleet = await createTestDatabase();
      urls = await shipFleetScenario(t.store, fleet);
      const read = withoutJit(['denials', '--db', urls.reader, '--json']);
      expect(read.stderr).toBe('');
      expect(read.status).toBe(0);
      expect((JSON.parse(read.stdout) as unknown[]).length).toBeGreaterThan(10);
      const status = withoutJit(['ship', '--status', '--json', '--db', t.path, '--to', urls.hosts.hv1 as string]);
      expect(status.stderr).toBe('');
      expect(JSON.parse(status.stdout)).toMatchObject({ host: 'hv1', lagRows: 0 });
    } finally {
      await fleet?.drop();
      t.cleanup();
    }
  });
});
