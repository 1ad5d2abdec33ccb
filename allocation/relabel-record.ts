/** Recording a relabel or restore that a launcher performed (or failed to). */

import type { RelabelAction } from '../core/allocation.js';
import { SvirtAuditError } from '../core/errors.js';
import { findOpenAllocation } from '../store/allocations.js';
import { insertRelabel } from '../store/relabels.js';
import type { Store } from '../store/store.js';

export interface RelabelReport {
  host: string;
  uuid: string;
  path: string;
  from: string | null;
  to: string | null;
  action: 'relabel' | 'restore';
  /** The error text when it failed; null when it worked. */
  error: string | null;
  at?: number;
}

/**
 * Record a relabel action against the VM's open allocation.
 * Throws NO_OPEN_ALLOCATION when the VM holds none on that host (nothing is written).
 */
export function recordRelabel(store: Store, report: RelabelReport): RelabelAction {
  if (report.path === '')
    throw new SvirtAuditError('BAD_INPUT', 'the path is empty', 'pass --path with the file that was relabelled');
  return store.immediate(() => {
    const open = findOpenAllocation(store, report.host, report.uuid);
    if (!open) {
      throw new SvirtAuditError(
        'NO_OPEN_ALLOCATION',
        `VM ${report.uuid} has no open allocation on ${report.host}, so the relabel cannot be linked to it`,
        'record the allocation first (svirt-audit alloc), then the relabel',
      );
    }
    return insertRelabel(store, {
      allocationId: open.id,
      path: report.path,
      labelBefore: report.from,
      labelAfter: report.to,
      action: report.action,
      error: report.error,
      at: report.at ?? Date.now(),
    });
  });
}
