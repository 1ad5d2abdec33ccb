/**
 * The retention policy `prune` applies once and `serve` keeps applying: how long records
 * stay, how large the file may grow, and the defaults a host never outgrows by surprise.
 * Runs store/retention.ts's steps, pausing between them so a long prune never holds the
 * write lock for more than one step.
 */

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  noPruneCounts,
  type PruneCounts,
  pruneSteps,
  recordPruneRun,
  shrinkStep,
  storeUsage,
} from '../store/retention.js';
import type { Store } from '../store/store.js';

const DAY_MS = 86_400_000;

/** Denials and events older than this go (serve's default). */
export const DEFAULT_KEEP_MS = 90 * DAY_MS;
/** Allocation and relabel history stays longer: it is what makes old reports readable. */
export const DEFAULT_KEEP_LABELS_MS = 400 * DAY_MS;
/** Pruning for size goes down to this share of the bound, so it does not run on every batch. */
const SIZE_TARGET = 0.9;
/** From this share of the bound on, serve warns (log and /metrics). */
export const SIZE_WARNING = 0.8;

export interface RetentionPolicy {
  keepMs: number;
  keepLabelsMs: number;
  /** Bytes the database may use (null: no size bound). */
  maxBytes: number | null;
}

/**
 * serve's size bound when none is given: a tenth of the file system the database is on,
 * at least 256 MiB and at most 10 GiB, so that a denial storm cannot fill /var (where a
 * full disk stops libvirt from starting VMs).
 */
export function defaultMaxBytes(dbPath: string): number {
  const min = 256 * 1024 ** 2;
  const max = 10 * 1024 ** 3;
  try {
    const fs = statfsSync(dirname(dbPath));
    return Math.min(max, Math.max(min, Math.floor((fs.blocks * fs.bsize) / 10)));
  } catch {
    return min;
  }
}

export interface PruneOutcome extends PruneCounts {
  /** Bytes handed back to the file system. */
  shrunkBytes: number;
  usedBytesBefore: number;
  usedBytesAfter: number;
  /** Still over the size bound after pruning everything it could (holds keep the rest). */
  overBound: boolean;
}

/**
 * Apply `policy` now: first what is older than keepMs, then the oldest records until the
 * store uses less than 90% of maxBytes, then hand freed pages back. `pause` runs between
 * steps (serve yields to the event loop there; the CLI does not need to).
 */
export async function applyRetention(
  store: Store,
  policy: RetentionPolicy,
  options: { now?: number; reason: string; pause?: () => Promise<unknown> } = { reason: 'prune' },
): Promise<PruneOutcome> {
  const now = options.now ?? Date.now();
  const pause = options.pause ?? (() => yieldToEventLoop());
  const usedBytesBefore = storeUsage(store).usedBytes;
  const total = noPruneCounts();
  const run = async (before: number, enough?: () => boolean) => {
    const steps = pruneSteps(store, { before, labelsBefore: now - policy.keepLabelsMs, ...(enough && { enough }) });
    let last: PruneCounts | undefined;
    for (let step = steps.next(); !step.done; step = steps.next()) {
      last = step.value;
      await pause();
    }
    if (!last) return;
    total.denials += last.denials;
    total.events += last.events;
    total.shapes += last.shapes;
    total.unparsed += last.unparsed;
    total.allocations += last.allocations;
    total.relabels += last.relabels;
    total.held += last.held;
    if (last.reached !== null) total.reached = Math.max(total.reached ?? 0, last.reached);
  };
  await run(now - policy.keepMs);
  const maxBytes = policy.maxBytes;
  const overTarget = () => maxBytes !== null && storeUsage(store).usedBytes > maxBytes * SIZE_TARGET;
  if (maxBytes !== null && overTarget()) await run(now, () => !overTarget());
  recordPruneRun(store, total, options.reason, now);
  let shrunkBytes = 0;
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  for (let pages = shrinkStep(store); pages > 0; pages = shrinkStep(store)) {
    shrunkBytes += pages * pageSize;
    await pause();
  }
  const usedBytesAfter = storeUsage(store).usedBytes;
  return {
    ...total,
    shrunkBytes,
    usedBytesBefore,
    usedBytesAfter,
    overBound: maxBytes !== null && usedBytesAfter > maxBytes,
  };
}
