/** Recording SELinux allocations in tests with the fields that vary spelled out. */

import { allocateLabel } from '../../allocation/allocate.js';
import type { Store } from '../../store/store.js';

export function allocateSelinux(
  store: Store,
  vm: { uuid: string; name: string; categories: string; host?: string; startedAt?: number },
): void {
  allocateLabel(store, {
    uuid: vm.uuid,
    name: vm.name,
    host: vm.host ?? 'hv1',
    model: 'selinux',
    source: 'cli',
    label: `system_u:system_r:svirt_t:s0:${vm.categories}`,
    startedAt: vm.startedAt ?? 0,
  });
}
