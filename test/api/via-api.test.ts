import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessAnswers } from '../../api/answer-pool.js';
import { buildApp } from '../../api/app.js';
import { DenialNotifier } from '../../api/denial-notifier.js';
import { Metrics } from '../../api/metrics.js';
import { createToken, TokenSet } from '../../api/tokens.js';
import { listAllocations, listExpectedDisks } from '../../store/allocations.js';
import { cli } from '../helpers/cli-run.js';
import { fixture } from '../helpers/fixtures.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
let app: FastifyInstance;
let socket: string;
let token: string;

beforeAll(async () => {
  t = openTempStore();
  const tokens = join(t.dir, 'tokens');
  token = createToken(tokens, 'recorder');
  app = await buildApp({
    ctx: {
      store: t.store,
      answers: new InProcessAnswers(t.store),
      tokens: () => TokenSet.load(tokens),
      notifier: new DenialNotifier(),
      metrics: new Metrics(),
      localHost: 'hv1',
    },
  });
  socket = join(t.dir, 'api.sock');
  await app.listen({ path: socket });
});
afterAll(async () => {
  await app.close();
  t.cleanup();
});

describe('--via-api: recording through the unix socket', () => {
  it('alloc records through the API (source api); a refused write keeps its exit status', async () => {
    const r = await cli(
      [
        'alloc',
        '--via-api',
        socket,
        '--uuid',
        '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
        '--vm',
        'web1',
        '--label',
        'system_u:system_r:svirt_t:s0:c1,c2',
        '--db',
        '/nonexistent/never-opened.db',
      ],
      {
        env: { SVIRT_AUDIT_TOKEN: token },
      },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('system_u:system_r:svirt_t:s0:c1,c2\nsystem_u:object_r:svirt_image_t:s0:c1,c2\n');
    expect(listAllocations(t.store).map((a) => [a.name, a.source])).toEqual([['web1', 'api']]);
    const clash = await cli(
      [
        'alloc',
        '--via-api',
        socket,
        '--uuid',
        'c7a5fdbd-cdaf-9455-926a-d65c16db1809',
        '--vm',
        'db1',
        '--label',
        'system_u:system_r:svirt_t:s0:c1,c2',
      ],
      {
        env: { SVIRT_AUDIT_TOKEN: token },
      },
    );
    expect(clash.status).toBe(3);
    expect(clash.stderr).toMatch(/held by VM web1/);
    const noToken = await cli([
      'alloc',
      '--via-api',
      socket,
      '--uuid',
      'c7a5fdbd-cdaf-9455-926a-d65c16db1809',
      '--vm',
      'db1',
    ]);
    expect(noToken.status).toBe(2);
    expect(noToken.stderr).toMatch(/401 AUTH_REQUIRED/);
  });

  it('the hook records start and stop through the API', async () => {
    const env = {
      SVIRT_AUDIT_API_SOCKET: socket,
      SVIRT_AUDIT_TOKEN: token,
      SVIRT_AUDIT_DB: '/nonexistent/never-opened.db',
    };
    const xml = fixture('domains/apparmor.xml');
    expect((await cli(['hook', 'qemu', 'ubuntu-desk', 'start', 'begin', '-'], { env, stdin: xml })).stderr).toBe('');
    const [started] = listAllocations(t.store, { uuid: '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10' });
    expect(started).toMatchObject({ model: 'apparmor', endedAt: null });
    expect(listExpectedDisks(t.store, started?.id as number).map((d) => [d.path, d.mode, d.relabel])).toEqual([
      ['/var/lib/libvirt/images/ubuntu-desk.qcow2', 'rw', false],
      ['/home/alice/isos/ubuntu-24.04.iso', 'ro', false],
    ]);
    await cli(['hook', 'qemu', 'ubuntu-desk', 'stopped', 'end', '-'], { env, stdin: xml });
    const release = await cli(['hook', 'qemu', 'ubuntu-desk', 'release', 'end', '-'], { env, stdin: xml });
    expect(release).toMatchObject({ status: 0, stderr: '' });
    expect(listAllocations(t.store, { uuid: '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10' })[0]?.endedAt).not.toBeNull();
  });

  it('the hook sends the disks an SELinux guest should have relabeled, as the direct hook records them', async () => {
    const env = { SVIRT_AUDIT_API_SOCKET: socket, SVIRT_AUDIT_TOKEN: token };
    const uuid = '5e6f7a8b-0000-4000-8000-000000000009';
    const xml = fixture('domains/selinux-three-disks.xml')
      .replace('4dea22b3-1d52-d8f3-2516-782e98ab3fa0', uuid)
      .replace('<name>web1</name>', '<name>web9</name>');
    const r = await cli(['hook', 'qemu', 'web9', 'start', 'begin', '-'], { env, stdin: xml });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const [a] = listAllocations(t.store, { uuid });
    expect(a).toMatchObject({ name: 'web9', source: 'api', categories: 'c392,c662' });
    expect(listExpectedDisks(t.store, a?.id as number).map((d) => [d.path, d.mode, d.expectedLabel])).toEqual([
      ['/var/lib/libvirt/images/web1.qcow2', 'rw', 'system_u:object_r:svirt_image_t:s0:c392,c662'],
      ['/var/lib/libvirt/images/install & tools.iso', 'ro', 'system_u:object_r:virt_content_t:s0'],
      ['/dev/vg0/shared-data', 'shared', 'system_u:object_r:svirt_image_t:s0'],
    ]);
  });

  it('the hook through the API ends a stale holder of its label and a changed label of its VM, as the direct hook does', async () => {
    const env = { SVIRT_AUDIT_API_SOCKET: socket, SVIRT_AUDIT_TOKEN: token };
    const guest = (uuid: string, name: string, cats: string) =>
      fixture('domains/selinux-three-disks.xml')
        .replace('4dea22b3-1d52-d8f3-2516-782e98ab3fa0', uuid)
        .replace('<name>web1</name>', `<name>${name}</name>`)
        .replaceAll('c392,c662', cats);
    const first = '5e6f7a8b-0000-4000-8000-000000000101';
    const second = '5e6f7a8b-0000-4000-8000-000000000102';
    const start = (uuid: string, name: string, cats: string) =>
      cli(['hook', 'qemu', name, 'start', 'begin', '-'], { env, stdin: guest(uuid, name, cats) });
    expect(await start(first, 'old-guest', 'c500,c501')).toMatchObject({ status: 0, stderr: '' });
    // libvirt hands c500,c501 to another guest: we missed old-guest's stop.
    expect(await start(second, 'new-guest', 'c500,c501')).toMatchObject({ status: 0, stderr: '' });
    expect(listAllocations(t.store, { uuid: first })[0]?.endedAt).not.toBeNull();
    // new-guest restarts with another label while we missed its stop too.
    expect(await start(second, 'new-guest', 'c600,c601')).toMatchObject({ status: 0, stderr: '' });
    expect(listAllocations(t.store, { uuid: second }).map((a) => [a.categories, a.endedAt === null])).toEqual([
      ['c600,c601', true],
      ['c500,c501', false],
    ]);
  });
});
