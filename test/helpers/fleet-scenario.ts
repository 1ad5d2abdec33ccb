/**
 * Two hosts of a fleet: hv1 is the incident scenario; web1 then live-migrates to hv2
 * (libvirt calls `migrate`, then `start` on the destination, minutes before the source's
 * `stopped`), where it reaches for cache1's disk. cache1 holds on hv2 the very category
 * pair db1 holds on hv1: attribution must stay per host. Both hosts' records are kept in
 * one SQLite file (as a store fed by forwarded records would), and a fleet gets them by
 * shipping each host under its own role.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingestFiles } from '../../collector/backfill.js';
import { addFleetHost, addFleetReader } from '../../store/postgres/fleet-hosts.js';
import { openFleet } from '../../store/postgres/connect.js';
import type { Store } from '../../store/store.js';
import { Shipper } from '../../fleet/shipper.js';
import { buildIncidentScenario, INCIDENT_HOST, INCIDENT_VMS } from './incident-scenario.js';
import type { TestDatabase } from './postgres.js';
import { type DomainSpec, HostScenario, imageContext, svirtContext } from './scenario-builder.js';

export const FLEET_HOSTS = [INCIDENT_HOST, 'hv2'] as const;
export const CACHE1 = '0c0c0c0c-2222-4333-8444-955555555555';

export async function buildFleetScenario(store: Store, dir: string, now: number): Promise<void> {
  const hv1 = join(dir, 'hv1');
  const hv2 = join(dir, 'hv2');
  mkdirSync(hv1, { recursive: true });
  mkdirSync(hv2, { recursive: true });
  const log1 = buildIncidentScenario(store, hv1, now);
  await ingestFiles(store, [log1], { localHost: INCIDENT_HOST });

  const s = new HostScenario(store, hv2, 'hv2', now - 6 * 3_600_000, 9000);
  const web1: DomainSpec = {
    name: 'web1',
    uuid: INCIDENT_VMS.web1,
    categories: 'c101,c202',
    disks: [{ path: '/var/lib/libvirt/images/web1.qcow2' }],
  };
  const cache1: DomainSpec = {
    name: 'cache1',
    uuid: CACHE1,
    categories: 'c303,c404',
    disks: [{ path: '/var/lib/libvirt/images/cache1.qcow2' }],
  };
  s.hook('start', cache1, 10);
  s.hook('migrate', web1, 118);
  s.hook('start', web1, 118);
  s.hook('started', web1, 119);
  for (const m of [150, 151])
    s.avc(m, {
      comm: 'qemu-kvm',
      tclass: 'file',
      perms: 'read',
      scontext: svirtContext('c101,c202'),
      tcontext: imageContext('c303,c404'),
      path: '/var/lib/libvirt/images/cache1.qcow2',
      pid: 7101,
    });
  s.avc(160, {
    comm: 'qemu-kvm',
    tclass: 'file',
    perms: 'getattr',
    scontext: svirtContext('c303,c404'),
    tcontext: 'system_u:object_r:etc_t:s0',
    path: '/etc/hv2-only.conf',
    pid: 7202,
  });
  writeFileSync(join(hv2, 'audit.log'), '');
  await ingestFiles(store, [s.writeLog()], { localHost: 'hv2' });
}

/**
 * A fleet schema in `db` with a role per host, both hosts shipped from `store`; returns
 * each host role's URL and a reader's.
 */
export async function shipFleetScenario(
  store: Store,
  db: TestDatabase,
): Promise<{ hosts: Record<string, string>; reader: string }> {
  const admin = await openFleet(db.adminUrl, { migrate: true });
  const urls: Record<string, string> = {};
  const reader = db.role('reader');
  try {
    await addFleetReader(admin, reader, 'pw-reader');
    for (const host of FLEET_HOSTS) {
      const role = db.role(`ship_${host}`);
      await addFleetHost(admin, host, role, `pw-${host}`);
      urls[host] = db.roleUrl(role, `pw-${host}`);
    }
  } finally {
    await admin.end();
  }
  for (const host of FLEET_HOSTS) {
    const shipper = new Shipper(store, { url: urls[host] as string });
    try {
      await shipper.drain();
    } finally {
      await shipper.stop();
    }
  }
  return { hosts: urls, reader: db.roleUrl(reader, 'pw-reader') };
}
