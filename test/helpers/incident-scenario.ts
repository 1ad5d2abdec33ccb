/**
 * The host the answer, report and API tests read: one of each kind of finding. Six hours
 * before `now`: web1 reaches for db1's disk (cross-vm); db1's NFS image was not
 * relabelled (unlabeled-target, with the failed relabel recorded); web2 reuses web1's
 * pair and opens web1's old image, still labelled for a VM that stopped (stale-label);
 * build (TCG) writes a shared ISO (shared-resource) and asks for execmem in permissive
 * mode (policy); an unrecorded VM (unattributed); desk under AppArmor; a VM libvirt
 * recorded itself (mail, learned from VIRT_MACHINE_ID); and host noise.
 * The report golden files in test/fixtures/reports are this scenario at a fixed `now`.
 */

import type { Store } from '../../store/store.js';
import { type DomainSpec, HostScenario, imageContext, svirtContext } from './scenario-builder.js';

export const INCIDENT_HOST = 'hv1';
export const INCIDENT_VMS = {
  web1: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
  db1: 'c7a5fdbd-cdaf-9455-926a-d65c16db1809',
  web2: '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d',
  build: '2f1b9a7e-0c4d-4e8f-9a6b-5d3c2e1f0a9b',
  desk: '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10',
  old: '5a5a5a5a-1111-4222-8333-944444444444',
};

const IMAGES = '/var/lib/libvirt/images';

/** Record the launch side in `store` and write the audit log to `dir`; returns the log's path. */
export function buildIncidentScenario(store: Store, dir: string, now: number = Date.now()): string {
  const s = new HostScenario(store, dir, INCIDENT_HOST, now - 6 * 3_600_000);
  const web1: DomainSpec = {
    name: 'web1',
    uuid: INCIDENT_VMS.web1,
    categories: 'c101,c202',
    disks: [{ path: `${IMAGES}/web1.qcow2` }],
  };
  const db1: DomainSpec = {
    name: 'db1',
    uuid: INCIDENT_VMS.db1,
    categories: 'c303,c404',
    disks: [{ path: `${IMAGES}/db1.qcow2` }, { path: '/srv/nfs/db1-data.img', noRelabel: true }],
  };
  const web2: DomainSpec = {
    name: 'web2',
    uuid: INCIDENT_VMS.web2,
    categories: 'c101,c202',
    disks: [{ path: `${IMAGES}/web2.qcow2` }],
  };
  const build: DomainSpec = {
    name: 'build',
    uuid: INCIDENT_VMS.build,
    categories: 'c7,c900',
    disks: [{ path: `${IMAGES}/build.qcow2` }],
    tcg: true,
  };

  s.allocate(
    {
      uuid: INCIDENT_VMS.old,
      name: 'web1-old',
      model: 'selinux',
      source: 'hook',
      label: svirtContext('c55,c66'),
    },
    -24 * 60,
  );
  s.release(INCIDENT_VMS.old, -60);
  s.hook('start', web1, 0);
  s.hook('start', db1, 1);
  s.hook('start', build, 2);
  s.allocate({ uuid: INCIDENT_VMS.desk, name: 'desk', model: 'apparmor', source: 'launch' }, 3);
  s.relabel(
    INCIDENT_VMS.db1,
    '/srv/nfs/db1-data.img',
    'system_u:object_r:nfs_t:s0',
    imageContext('c303,c404'),
    'Operation not supported',
    1,
  );
  s.hook('stopped', web1, 120);
  s.hook('start', web2, 180);

  const qemu = { comm: 'qemu-kvm', tclass: 'file' };
  for (const m of [30, 31, 45])
    s.avc(m, {
      ...qemu,
      perms: 'read write',
      scontext: svirtContext('c101,c202'),
      tcontext: imageContext('c303,c404'),
      path: `${IMAGES}/db1.qcow2`,
      pid: 4101,
    });
  for (const m of [5, 6, 7, 60])
    s.avc(m, {
      ...qemu,
      perms: 'read',
      scontext: svirtContext('c303,c404'),
      tcontext: 'system_u:object_r:nfs_t:s0',
      path: '/srv/nfs/db1-data.img',
      pid: 4202,
    });
  s.avc(200, {
    ...qemu,
    perms: 'read',
    scontext: svirtContext('c101,c202'),
    tcontext: imageContext('c55,c66'),
    path: `${IMAGES}/old-web1.qcow2`,
    pid: 4303,
  });
  const tcg = { comm: 'qemu-system-x86', pid: 4404, scontext: svirtContext('c7,c900', true) };
  s.avc(20, {
    ...tcg,
    perms: 'write',
    tcontext: 'system_u:object_r:virt_content_t:s0',
    tclass: 'file',
    path: `${IMAGES}/tools.iso`,
  });
  for (const m of [21, 22])
    s.avc(m, {
      ...tcg,
      perms: 'execmem',
      tcontext: svirtContext('c7,c900', true),
      tclass: 'process',
      path: '/usr/bin/qemu-system-x86_64',
      permissive: true,
    });
  s.avc(100, {
    ...qemu,
    perms: 'read',
    scontext: svirtContext('c9,c10'),
    tcontext: 'system_u:object_r:default_t:s0',
    path: '/tmp/unknown.img',
    pid: 4505,
  });
  s.avc(10, {
    perms: 'write',
    scontext: 'system_u:system_r:init_t:s0',
    tcontext: 'system_u:object_r:virt_var_run_t:s0',
    tclass: 'sock_file',
    path: '/run/libvirt/libvirt-sock',
    comm: 'systemd',
    pid: 1,
  });
  s.avc(11, {
    perms: 'name_connect',
    scontext: 'system_u:system_r:httpd_t:s0',
    tcontext: 'system_u:object_r:postgresql_port_t:s0',
    tclass: 'tcp_socket',
    path: '/',
    comm: 'httpd',
    pid: 812,
  });
  for (const m of [15, 16])
    s.apparmorOpen(m, `libvirt-${INCIDENT_VMS.desk}`, `/run/udev/data/c189:${m}`, 4606, 'qemu-system-x86');
  s.libvirtStarted(240, { name: 'mail', uuid: '0e3c3a62-6f36-4a39-9e0e-7d5b6a1f2c3d', categories: 'c11,c12' });
  s.avc(241, {
    ...qemu,
    perms: 'getattr',
    scontext: svirtContext('c11,c12'),
    tcontext: 'system_u:object_r:sysfs_t:s0',
    path: '/sys/devices/system/node/node0/meminfo',
    pid: 4707,
  });
  return s.writeLog();
}
