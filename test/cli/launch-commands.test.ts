import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-run.js';
import { tempDir } from '../helpers/temp-store.js';

const U1 = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
const U2 = 'c7a5fdbd-cdaf-9455-926a-d65c16db1809';

let scratch: { dir: string; cleanup(): void };
let db: string;
beforeEach(() => {
  scratch = tempDir();
  db = join(scratch.dir, 'audit.db');
});
afterEach(() => scratch.cleanup());

describe('alloc, release, relabel, vms, allocations', () => {
  it('alloc prints the two labels; --json prints the documented object', async () => {
    const text = await cli(['alloc', '--db', db, '--uuid', U1, '--vm', 'web1', '--host', 'hv1']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /^system_u:system_r:svirt_t:s0:c\d+,c\d+\nsystem_u:object_r:svirt_image_t:s0:c\d+,c\d+\n$/,
    );
    const json = await cli([
      'alloc',
      '--db',
      db,
      '--uuid',
      U2,
      '--vm',
      'db1',
      '--host',
      'hv1',
      '--model',
      'apparmor',
      '--json',
    ]);
    const body = JSON.parse(json.stdout);
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['uuid', 'name', 'host', 'model', 'label', 'imageLabel', 'categories', 'startedAt']),
    );
    expect(body).toMatchObject({ uuid: U2, name: 'db1', host: 'hv1', model: 'apparmor', label: `libvirt-${U2}` });
  });

  it('takes the database from SVIRT_AUDIT_DB when --db is absent', async () => {
    const r = await cli(['alloc', '--uuid', U1, '--vm', 'web1', '--json'], { env: { SVIRT_AUDIT_DB: db } });
    expect(r.status).toBe(0);
    const vms = await cli(['vms', '--json'], { env: { SVIRT_AUDIT_DB: db } });
    expect(JSON.parse(vms.stdout)[0]).toMatchObject({ uuid: U1, name: 'web1' });
  });

  it('a static label held by another VM exits 3 and names the holder', async () => {
    const label = 'system_u:system_r:svirt_t:s0:c10,c20';
    expect((await cli(['alloc', '--db', db, '--uuid', U1, '--vm', 'web1', '--label', label])).status).toBe(0);
    const clash = await cli(['alloc', '--db', db, '--uuid', U2, '--vm', 'db1', '--label', label]);
    expect(clash.status).toBe(3);
    expect(clash.stderr).toMatch(/held by VM web1/);
    expect(clash.stderr).toMatch(/svirt-audit release --uuid/);
    expect(clash.stdout).toBe('');
  });

  it('the 29th allocation in c0.c7 exits 3 with "range exhausted"', async () => {
    for (let i = 0; i < 28; i++) {
      const uuid = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      expect((await cli(['alloc', '--db', db, '--uuid', uuid, '--vm', `vm${i}`, '--range', 'c0.c7'])).status).toBe(0);
    }
    const last = await cli(['alloc', '--db', db, '--uuid', U1, '--vm', 'web1', '--range', 'c0.c7']);
    expect(last.status).toBe(3);
    expect(last.stderr).toMatch(/range c0\.c7 is exhausted: all 28 category pairs/);
  });

  it('--started and --ended record an imported allocation', async () => {
    await cli(['alloc', '--db', db, '--uuid', U1, '--vm', 'web1', '--started', '2026-11-01T00:00:00Z']);
    await cli(['release', '--db', db, '--uuid', U1, '--ended', '2026-11-02T00:00:00Z']);
    const rows = JSON.parse((await cli(['allocations', '--db', db, '--json'])).stdout);
    expect(rows[0]).toMatchObject({ startedAt: '2026-11-01T00:00:00.000Z', endedAt: '2026-11-02T00:00:00.000Z' });
  });

  it('release of an unknown uuid exits 4 and changes nothing', async () => {
    await cli(['alloc', '--db', db, '--uuid', U1, '--vm', 'web1']);
    const before = (await cli(['allocations', '--db', db, '--json'])).stdout;
    const r = await cli(['release', '--db', db, '--uuid', U2]);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/has no open allocation/);
    expect((await cli(['allocations', '--db', db, '--json'])).stdout).toBe(before);
  });

  it('relabel links to the open allocation and is refused without one', async () => {
    await cli(['alloc', '--db', db, '--uuid', U1, '--vm', 'web1']);
    const ok = await cli([
      'relabel',
      '--db',
      db,
      '--uuid',
      U1,
      '--path',
      '/img/a',
      '--from',
      'system_u:object_r:virt_image_t:s0',
      '--to',
      'system_u:object_r:svirt_image_t:s0:c1,c2',
      '--json',
    ]);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ path: '/img/a', action: 'relabel', error: null });
    const failed = await cli([
      'relabel',
      '--db',
      db,
      '--uuid',
      U1,
      '--path',
      '/img/b',
      '--from',
      'a',
      '--to',
      'b',
      '--error',
      'EPERM',
    ]);
    expect(failed.stdout).toMatch(/failed: EPERM/);
    const refused = await cli(['relabel', '--db', db, '--uuid', U2, '--path', '/img/a', '--from', 'a', '--to', 'b']);
    expect(refused.status).toBe(4);
  });

  it.each([
    { argv: ['alloc', '--uuid', 'nope', '--vm', 'x'], message: /expected a uuid/ },
    { argv: ['alloc', '--uuid', U1], message: /required option '--vm <name>'/ },
    { argv: ['alloc', '--uuid', U1, '--vm', 'x', '--started', 'yesterday'], message: /not a time/ },
    { argv: ['alloc', '--uuid', U1, '--vm', 'x', '--range', 'c9.c1'], message: /runs backwards/ },
    {
      argv: ['alloc', '--uuid', U1, '--vm', 'x', '--model', 'smack'],
      message: /Allowed choices are selinux, apparmor, none/,
    },
    { argv: ['alloc', '--uuid', U1, '--vm', 'x', '--label', 'svirt_t:s0'], message: /bad SELinux context/ },
    { argv: ['frobnicate'], message: /unknown command/ },
  ])('bad usage exits 2: $argv', async ({ argv, message }) => {
    const r = await cli([...argv, '--db', db]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('--help teaches: examples, the database rule and the exit codes', async () => {
    const top = await cli(['--help']);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/SVIRT_AUDIT_DB/);
    expect(top.stdout).toMatch(/3 conflict/);
    const alloc = await cli(['alloc', '--help']);
    expect(alloc.stdout).toMatch(/Examples:/);
    expect(alloc.stdout).toMatch(/--single/);
  });
});
