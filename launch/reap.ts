/**
 * `svirt-audit reap`: close the allocations `launch` made whose QEMU is gone (or whose pid
 * now belongs to a later process), restoring the remembered labels of their disks and recording each
 * restore. Safe beside launches and other reapers: an allocation is claimed by ending it
 * in a transaction that first checks it is still open; only the claimant restores.
 */

import { readFileSync } from 'node:fs';
import type { Allocation } from '../core/allocation.js';
import type { NativeBinding } from '../native/index.js';
import { endAllocation, getAllocation, listAllocations, listExpectedDisks } from '../store/allocations.js';
import { insertRelabel } from '../store/relabels.js';
import type { Store } from '../store/store.js';
import {
  labelsNotSettableHere,
  readFileLabel,
  REMEMBER_XATTR,
  REMEMBERED_NO_LABEL,
  restoreFileLabel,
} from './launcher.js';

export interface ReapOutcome {
  allocation: Allocation;
  restored: { path: string; label: string | null; error: string | null }[];
}

/** Start time of a process in ms since the epoch, from /proc (undefined when it is gone). */
function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return btime * 1000 + (ticks * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** True when `pid` is running and started no later than the allocation (not a reused pid). */
export function allocationProcessAlive(a: Allocation): boolean {
  if (a.pid === null) return true; // nothing to check: leave it open
  const started = processStart(a.pid);
  // /proc start times have 10 ms resolution and the allocation is recorded just before exec.
  return started !== undefined && started <= a.startedAt + 1000;
}

export function reapAllocations(
  store: Store,
  native: NativeBinding,
  host: string,
  now: number = Date.now(),
): ReapOutcome[] {
  const outcomes: ReapOutcome[] = [];
  for (const candidate of listAllocations(store, { host, openOnly: true })) {
    // Only what `launch` started: its allocation is recorded just before the exec, so a
    // later-started pid is a reused one. libvirt's guests end through the hook (or
    // libvirt's own audit records), and their QEMU starts well after the hook's `start`
    // on a busy host: the lab saw serve end a running guest's allocation that way.
    if (candidate.source !== 'launch' || allocationProcessAlive(candidate)) continue;
    const claimed = store.immediate(() => {
      const current = getAllocation(store, candidate.id);
      if (!current || current.endedAt !== null) return undefined;
      return endAllocation(store, current, Math.max(now, current.startedAt));
    });
    if (!claimed) continue;
    const restored: ReapOutcome['restored'] = [];
    for (const disk of listExpectedDisks(store, claimed.id)) {
      if (!disk.relabel) continue;
      let remembered: string | null = null;
      let original: string | null = null;
      let error: string | null = null;
      let before: string | null = null;
      try {
        remembered = native.getXattr(disk.path, REMEMBER_XATTR);
        if (remembered === null) continue;
        original = remembered === REMEMBERED_NO_LABEL ? null : remembered;
        before = readFileLabel(native, disk.path);
        restoreFileLabel(native, disk.path, original);
        native.removeXattr(disk.path, REMEMBER_XATTR);
      } catch (e) {
        // A disk the launch could not label (see labelsNotSettableHere) has nothing to restore.
        if (remembered === null && labelsNotSettableHere(e)) continue;
        error = (e as Error).message;
      }
      store.immediate(() =>
        insertRelabel(store, {
          allocationId: claimed.id,
          path: disk.path,
          labelBefore: before,
          labelAfter: original,
          action: 'restore',
          error,
          at: Date.now(),
        }),
      );
      restored.push({ path: disk.path, label: original, error });
    }
    outcomes.push({ allocation: claimed, restored });
  }
  return outcomes;
}
