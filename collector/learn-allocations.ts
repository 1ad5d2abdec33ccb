/**
 * Learning allocations from libvirt's own audit records, so VMs started without our hook
 * are still attributed (libvirt docs/auditlog.rst, src/conf/domain_audit.c):
 * VIRT_MACHINE_ID (vm name, uuid, vm-ctx, img-ctx, model) opens one at the start,
 * VIRT_CONTROL op=start gives QEMU's pid, op=stop ends it. Where the hook recorded the same
 * start, the two are one allocation: the hook's row is kept and only filled in.
 */

import { normalizeUuid } from '../core/allocation.js';
import type { AuditFact } from '../core/denial.js';
import { isSvirtAuditError } from '../core/errors.js';
import { contextCategories, tryParseSelinuxContext } from '../core/selinux-context.js';
import {
  endAllocation,
  findLabelHolder,
  findOpenAllocation,
  insertAllocation,
  setAllocationPid,
} from '../store/allocations.js';
import type { Store } from '../store/store.js';

export interface LearnCounts {
  opened: number;
  merged: number;
  ended: number;
  conflicts: number;
}

/** Apply the VIRT_* facts of one event. Call inside the batch's transaction. Never throws on data. */
export function learnAllocations(
  store: Store,
  host: string,
  time: number,
  facts: readonly AuditFact[],
  counts: LearnCounts,
): void {
  for (const fact of facts) {
    if (fact.kind === 'virt-machine-id') learnStart(store, host, time, fact, counts);
    else if (fact.kind === 'virt-control' && fact.success && fact.uuid) {
      const uuid = normalizeUuid(fact.uuid);
      if (!uuid) continue;
      const open = findOpenAllocation(store, host, uuid);
      if (!open) continue;
      if (fact.op === 'start' && fact.vmPid !== null && open.pid === null) setAllocationPid(store, open.id, fact.vmPid);
      if (fact.op === 'stop' && time >= open.startedAt) {
        endAllocation(store, open, time);
        counts.ended++;
      }
    }
  }
}

function learnStart(
  store: Store,
  host: string,
  time: number,
  fact: Extract<AuditFact, { kind: 'virt-machine-id' }>,
  counts: LearnCounts,
): void {
  const uuid = fact.uuid ? normalizeUuid(fact.uuid) : undefined;
  if (!fact.success || !uuid || !fact.vmContext || (fact.model !== 'selinux' && fact.model !== 'apparmor')) return;
  let categories = '';
  if (fact.model === 'selinux') {
    const ctx = tryParseSelinuxContext(fact.vmContext);
    if (!ctx) return;
    categories = contextCategories(ctx).toString();
  }
  const open = findOpenAllocation(store, host, uuid);
  if (open) {
    if (open.label === fact.vmContext || (categories !== '' && open.categories === categories)) {
      counts.merged++;
      return;
    }
    // A new label for a VM we think is running: its stop was missed.
    if (time >= open.startedAt) endAllocation(store, open, time);
  }
  const holder = findLabelHolder(store, host, categories, time, null);
  if (holder) {
    if (holder.uuid === uuid) {
      // The hook recorded this start (a moment before or after libvirt's record): one allocation.
      counts.merged++;
      return;
    }
    if (holder.endedAt === null && holder.startedAt <= time) {
      endAllocation(store, holder, time);
    } else {
      counts.conflicts++;
      return;
    }
  }
  try {
    insertAllocation(store, {
      host,
      uuid,
      name: fact.vmName ?? uuid,
      model: fact.model,
      label: fact.vmContext,
      imageLabel: fact.imageContext,
      categories,
      pid: null,
      source: 'audit',
      startedAt: time,
    });
    counts.opened++;
  } catch (error) {
    if (isSvirtAuditError(error) && error.code === 'ALLOCATION_CONFLICT') counts.conflicts++;
    else throw error;
  }
}
