/**
 * The read commands over the fleet (`--db postgres://…`), the administrator's `fleet`
 * commands, and what a user who mistypes gets: exit statuses and messages that say what
 * to do, never a password.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_SCHEMA_VERSION } from '../../store/postgres/migrate.js';
import { redactedUrl } from '../../store/postgres/url.js';
import { buildFleetScenario, shipFleetScenario } from '../helpers/fleet-scenario.js';
import { cli } from '../helpers/cli-run.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/postgres.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/fleet cli: skipped: ${unavailable}`);
const run = unavailable ? it.skip : it;

let t: TempStore;
let db: TestDatabase;
let reader: string;

beforeAll(async () => {
  if (unavailable) return;
  t = openTempStore();
  await buildFleetScenario(t.store, t.dir, NOW);
  db = await createTestDatabase();
  ({ reader } = await shipFleetScenario(t.store, db));
}, 60_000);

afterAll(async () => {
  await db?.drop();
  t?.cleanup();
});

const json = async (argv: string[]) => {
  const r = await cli(argv);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as unknown;
};

describe('the read commands with --db postgres://', () => {
  run('denials, summary, vms and allocations answer for every host', async () => {
    const crossVm = (await json(['denials', '--db', reader, '--kind', 'cross-vm', '--json'])) as { host: string }[];
    expect(crossVm.map((d) => d.host).sort()).toEqual(['hv1', 'hv1', 'hv1', 'hv2', 'hv2']);
    const [web1] = (await json(['summary', '--db', reader, '--vm', 'web1', '--json'])) as { total: number }[];
    expect(web1?.total).toBe(5);
    const [onHv2] = (await json(['summary', '--db', reader, '--vm', 'web1', '--host', 'hv2', '--json'])) as {
      total: number;
    }[];
    expect(onHv2?.total).toBe(2);
    const vms = (await json(['vms', '--db', reader, '--json'])) as { name: string; hosts: string[] }[];
    expect(vms.find((v) => v.name === 'web1')?.hosts).toEqual(['hv1', 'hv2']);
    const history = (await json(['allocations', '--db', reader, '--vm', 'web1', '--json'])) as { host: string }[];
    expect(history.map((a) => a.host)).toEqual(['hv2', 'hv1']);
    const table = await cli(['denials', '--db', reader, '--host', 'hv2']);
    expect(table.stdout).toMatch(
      /web1\s+cross-vm\s+read file\s+\/var\/lib\/libvirt\/images\/cache1\.qcow2 \[VM cache1\]/,
    );
  });

  run("report --db postgres:// writes the VM's report over every host; it verifies", async () => {
    const out = join(t.dir, 'web1-fleet.md');
    const r = await cli(['report', '--db', reader, '--vm', 'web1', '--format', 'md', '--out', out]);
    expect(r.stderr).toBe(`wrote md report for web1 (5 denials) to ${out}\n`);
    expect(r.status).toBe(0);
    const md = readFileSync(out, 'utf8');
    expect(md).toContain(`on hv1, hv2`);
    expect(md.match(/^Event \d+: .* on hv[12],/gm)).toHaveLength(5);
    expect(md).toContain(`from \`${redactedUrl(reader)}\``);
    expect((await cli(['report', 'verify', out])).status).toBe(0);
    const unknown = await cli(['report', '--db', reader, '--vm', 'nope']);
    expect(unknown.stderr).toMatch(/no VM named or with uuid "nope" is recorded in the fleet/);
    expect(unknown.status).not.toBe(0);
  });

  run('fleet hosts lists each host with how far it has shipped', async () => {
    const hosts = (await json(['fleet', 'hosts', '--db', db.adminUrl, '--json'])) as {
      name: string;
      shippedAt: number | null;
    }[];
    expect(hosts.map((h) => h.name)).toEqual(['hv1', 'hv2']);
    expect(hosts.every((h) => h.shippedAt !== null)).toBe(true);
  });
});

describe('mistakes', () => {
  run('a wrong password: exit 5, the server named, the password not', async () => {
    const wrong = reader.replace(/:[^:@/]+@/, ':s3cret-typo@');
    const r = await cli(['denials', '--db', wrong]);
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/password authentication failed/);
    expect(r.stderr).not.toContain('s3cret-typo');
    expect(r.stderr).toContain(':***@');
  });

  run('a fleet database without the schema: exit 5 and the command that makes it', async () => {
    const empty = await createTestDatabase();
    try {
      const r = await cli(['denials', '--db', empty.adminUrl]);
      expect(r.status).toBe(5);
      expect(r.stderr).toContain(`fleet schema version 0; this svirt-audit needs ${FLEET_SCHEMA_VERSION}`);
      expect(r.stderr).toMatch(/svirt-audit fleet init --db/);
    } finally {
      await empty.drop();
    }
  });

  it('ship, serve --store, serve --ship-to and fleet refuse what is not a postgres:// URL, with an example', async () => {
    for (const argv of [
      ['ship', '--to', 'mysql://x/y'],
      ['ship'],
      ['serve', '--store', '/var/lib/svirt-audit/audit.db'],
      ['serve', '--ship-to', 'fleet.example:5432', '--no-follow'],
      ['fleet', 'init', '--db', '/tmp/x.db'],
    ]) {
      const r = await cli(argv, { env: {} });
      expect(r.status, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/postgres/);
    }
  });

  run('an unknown fleet action lists the actions', async () => {
    const r = await cli(['fleet', 'frobnicate', '--db', db.adminUrl]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/init, add-host, add-reader, hosts, prune/);
  });
});
