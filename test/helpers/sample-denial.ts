/** One cross-vm denial's JSON (web1 reading db1's disk), for the tests of what formats it. */

import type { DenialJson } from '../../core/denial-json.js';

export const SAMPLE_DENIAL: DenialJson = {
  id: 42,
  time: '2026-11-21T10:31:00.123Z',
  host: 'hv1',
  serial: 5001,
  model: 'selinux',
  kind: 'cross-vm',
  permissive: false,
  perms: ['read', 'write'],
  tclass: 'file',
  source: {
    context: 'system_u:system_r:svirt_t:s0:c101,c202',
    type: 'svirt_t',
    categories: 'c101,c202',
    pid: 4101,
    comm: 'qemu-kvm',
    exe: '/usr/libexec/qemu-kvm',
    vm: { uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0', name: 'web1' },
  },
  target: {
    context: 'system_u:object_r:svirt_image_t:s0:c303,c404',
    type: 'svirt_image_t',
    categories: 'c303,c404',
    path: '/var/lib/libvirt/images/db1.qcow2',
    name: 'db1.qcow2',
    dev: 'dm-0',
    inode: 1234,
    vm: { uuid: 'c7a5fdbd-cdaf-9455-926a-d65c16db1809', name: 'db1' },
  },
  apparmor: null,
};
