/**
 * The demo: a realistic scenario built through the real code paths, with no root and no
 * audit daemon. VMs start and stop through the libvirt hook handler (domain XML like
 * libvirt's), one launcher records relabels, labels are reused, and a generated audit log
 * holds a cross-VM attempt, an unlabelled NFS image, a stale label, an AppArmor VM,
 * permissive denials and noise from host processes. The collector then ingests that log.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { allocateLabel, releaseAllocation } from '../allocation/allocate.js';
import { DEFAULT_LABEL_BASES } from '../allocation/label-bases.js';
import { handleQemuHook } from '../libvirt-hook/qemu-hook.js';
import { recordRelabel } from '../allocation/relabel-record.js';

export const DEMO_HOST = 'hv1';
export const DEMO_VMS = {
  web1: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
  db1: 'c7a5fdbd-cdaf-9455-926a-d65c16db1809',
  web2: '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d',
  build: '2f1b9a7e-0c4d-4e8f-9a6b-5d3c2e1f0a9b',
  desk: '8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10',
  old: '5a5a5a5a-1111-4222-8333-944444444444',
};

function domainXml(
  name: string,
  uuid: string,
  cats: string,
  disks: { path: string; noRelabel?: boolean }[],
  tcg = false,
): string {
  const type = tcg ? 'svirt_tcg_t' : 'svirt_t';
  return `<domain type='kvm'><name>${name}</name><uuid>${uuid}</uuid><devices>${disks
    .map(
      (d) =>
        `<disk type='file' device='disk'><source file='${d.path}'>${d.noRelabel ? "<seclabel model='selinux' relabel='no'/>" : ''}</source><target dev='vda'/></disk>`,
    )
    .join('')}</devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'><label>system_u:system_r:${type}:s0:${cats}</label><imagelabel>system_u:object_r:svirt_image_t:s0:${cats}</imagelabel></seclabel></domain>`;
}

/** Build the launch side in `store` and write the audit log to `dir`; returns the log's path. */
export function buildDemo(store: Store, dir: string, now: number = Date.now()): string {
  const t0 = now - 6 * 3_600_000; // the story starts six hours ago
  const at = (minutes: number) => t0 + minutes * 60_000;
  const hook = (op: string, xml: string, minutes: number) =>
    handleQemuHook(store, {
      domain: '',
      op,
      subop: '-',
      extra: '-',
      xml,
      host: DEMO_HOST,
      now: at(minutes),
      bases: DEFAULT_LABEL_BASES,
      pidDir: join(dir, 'run'),
    });

  const web1 = domainXml('web1', DEMO_VMS.web1, 'c101,c202', [{ path: '/var/lib/libvirt/images/web1.qcow2' }]);
  const db1 = domainXml('db1', DEMO_VMS.db1, 'c303,c404', [
    { path: '/var/lib/libvirt/images/db1.qcow2' },
    { path: '/srv/nfs/db1-data.img', noRelabel: true },
  ]);
  // web2 later reuses web1's pair after web1 stopped: the same label, another VM.
  const web2 = domainXml('web2', DEMO_VMS.web2, 'c101,c202', [{ path: '/var/lib/libvirt/images/web2.qcow2' }]);
  const build = domainXml('build', DEMO_VMS.build, 'c7,c900', [{ path: '/var/lib/libvirt/images/build.qcow2' }], true);

  // A VM from yesterday held c55,c66 and stopped without its image label being restored.
  allocateLabel(store, {
    uuid: DEMO_VMS.old,
    name: 'web1-old',
    host: DEMO_HOST,
    model: 'selinux',
    source: 'hook',
    label: 'system_u:system_r:svirt_t:s0:c55,c66',
    startedAt: at(-24 * 60),
  });
  releaseAllocation(store, DEMO_HOST, DEMO_VMS.old, at(-60));
  hook('start', web1, 0);
  hook('start', db1, 1);
  hook('start', build, 2);
  allocateLabel(store, {
    uuid: DEMO_VMS.desk,
    name: 'desk',
    host: DEMO_HOST,
    model: 'apparmor',
    source: 'launch',
    startedAt: at(3),
  });
  // A launcher relabels db1's scratch disk, and fails on the NFS one.
  recordRelabel(store, {
    host: DEMO_HOST,
    uuid: DEMO_VMS.db1,
    path: '/srv/nfs/db1-data.img',
    from: 'system_u:object_r:nfs_t:s0',
    to: 'system_u:object_r:svirt_image_t:s0:c303,c404',
    action: 'relabel',
    error: 'Operation not supported',
    at: at(1),
  });
  hook('stopped', web1, 120);
  // web1's old image kept its label (no restore was recorded): a stale label.
  hook('start', web2, 180);

  const lines: string[] = [];
  let serial = 5000;
  const avc = (
    minutes: number,
    perms: string,
    scontext: string,
    tcontext: string,
    tclass: string,
    path: string,
    comm: string,
    pid: number,
    permissive = 0,
  ) => {
    serial++;
    const t = at(minutes) + (serial % 997);
    const stamp = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}`;
    const name = path.split('/').pop();
    lines.push(
      `type=AVC msg=audit(${stamp}): avc:  denied  { ${perms} } for  pid=${pid} comm="${comm}" name="${name}" dev="dm-0" ino=${serial} scontext=${scontext} tcontext=${tcontext} tclass=${tclass} permissive=${permissive}`,
      `type=SYSCALL msg=audit(${stamp}): arch=c000003e syscall=257 success=${permissive ? 'yes' : 'no'} exit=${permissive ? 3 : -13} a0=ffffff9c a1=7f items=1 ppid=1 pid=${pid} auid=4294967295 uid=107 gid=107 comm="${comm}" exe="/usr/libexec/qemu-kvm" subj=${scontext} key=(null)`,
      `type=CWD msg=audit(${stamp}): cwd="/"`,
      `type=PATH msg=audit(${stamp}): item=0 name="${path}" inode=${serial} dev=fd:00 mode=0100600 ouid=107 ogid=107 rdev=00:00 obj=${tcontext} nametype=NORMAL`,
      `type=EOE msg=audit(${stamp}):`,
    );
  };
  const svirt = (cats: string, tcg = false) => `system_u:system_r:${tcg ? 'svirt_tcg_t' : 'svirt_t'}:s0:${cats}`;
  const image = (cats: string) => `system_u:object_r:svirt_image_t:s0:${cats}`;

  // web1 reaches for db1's disk: cross-VM, three times.
  for (const m of [30, 31, 45])
    avc(
      m,
      'read write',
      svirt('c101,c202'),
      image('c303,c404'),
      'file',
      '/var/lib/libvirt/images/db1.qcow2',
      'qemu-kvm',
      4101,
    );
  // db1's NFS image was not relabelled: unlabeled-target (virt_use_nfs).
  for (const m of [5, 6, 7, 60])
    avc(m, 'read', svirt('c303,c404'), 'system_u:object_r:nfs_t:s0', 'file', '/srv/nfs/db1-data.img', 'qemu-kvm', 4202);
  // web2 opens web1's old image, still labelled with web1's (ended) pair: stale-label.
  avc(
    200,
    'read',
    svirt('c101,c202'),
    image('c55,c66'),
    'file',
    '/var/lib/libvirt/images/old-web1.qcow2',
    'qemu-kvm',
    4303,
  );
  // build (TCG) writes a shared ISO: shared-resource; and execmem: policy, permissive.
  avc(
    20,
    'write',
    svirt('c7,c900', true),
    'system_u:object_r:virt_content_t:s0',
    'file',
    '/var/lib/libvirt/images/tools.iso',
    'qemu-system-x86',
    4404,
  );
  for (const m of [21, 22])
    avc(
      m,
      'execmem',
      svirt('c7,c900', true),
      svirt('c7,c900', true),
      'process',
      '/usr/bin/qemu-system-x86_64',
      'qemu-system-x86',
      4404,
      1,
    );
  // A VM started before anyone recorded it: unattributed.
  avc(100, 'read', svirt('c9,c10'), 'system_u:object_r:default_t:s0', 'file', '/tmp/unknown.img', 'qemu-kvm', 4505);
  // Host noise.
  avc(
    10,
    'write',
    'system_u:system_r:init_t:s0',
    'system_u:object_r:virt_var_run_t:s0',
    'sock_file',
    '/run/libvirt/libvirt-sock',
    'systemd',
    1,
  );
  avc(
    11,
    'name_connect',
    'system_u:system_r:httpd_t:s0',
    'system_u:object_r:postgresql_port_t:s0',
    'tcp_socket',
    '/',
    'httpd',
    812,
  );
  // desk (AppArmor) opens a USB device file not in its profile.
  for (const m of [15, 16]) {
    serial++;
    const t = at(m);
    lines.push(
      `type=AVC msg=audit(${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}): apparmor="DENIED" operation="open" profile="libvirt-${DEMO_VMS.desk}" name="/run/udev/data/c189:${m}" pid=4606 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=0`,
    );
  }
  // libvirt's own record of a VM started without our hook (learned as source "audit").
  serial++;
  const v = at(240);
  lines.push(
    `type=VIRT_MACHINE_ID msg=audit(${Math.floor(v / 1000)}.${String(v % 1000).padStart(3, '0')}:${serial}): pid=900 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:virtd_t:s0-s0:c0.c1023 msg='virt=kvm vm="mail" uuid=0e3c3a62-6f36-4a39-9e0e-7d5b6a1f2c3d vm-ctx=system_u:system_r:svirt_t:s0:c11,c12 img-ctx=system_u:object_r:svirt_image_t:s0:c11,c12 model=selinux exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`,
  );
  avc(
    241,
    'getattr',
    svirt('c11,c12'),
    'system_u:object_r:sysfs_t:s0',
    'file',
    '/sys/devices/system/node/node0/meminfo',
    'qemu-kvm',
    4707,
  );
  const path = join(dir, 'audit.log');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
