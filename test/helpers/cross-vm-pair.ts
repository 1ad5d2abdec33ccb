/** Two running VMs, web1 and db1, and web1 reaching for db1's disk: the cross-vm case alerts and syslog tests store. */

import { type AvcSpec, type DomainSpec, imageContext, svirtContext } from './scenario-builder.js';

export const DB1_DISK = '/var/lib/libvirt/images/db1.qcow2';

export const WEB1: DomainSpec = {
  name: 'web1',
  uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
  categories: 'c101,c202',
  disks: [{ path: '/var/lib/libvirt/images/web1.qcow2' }],
};

export const DB1: DomainSpec = {
  name: 'db1',
  uuid: 'c7a5fdbd-cdaf-9455-926a-d65c16db1809',
  categories: 'c303,c404',
  disks: [{ path: DB1_DISK }],
};

/** web1's QEMU refused a read of `path` (db1's disk by default), labelled for db1. */
export function web1ReadsDb1(path = DB1_DISK): AvcSpec {
  return {
    perms: 'read',
    scontext: svirtContext(WEB1.categories),
    tcontext: imageContext(DB1.categories),
    tclass: 'file',
    path,
    comm: 'qemu-kvm',
    pid: 4101,
  };
}
