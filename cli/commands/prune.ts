/** `svirt-audit prune`: remove old records now (what serve does on its own with --keep / --max-size). */

import { formatSize } from '../../core/size-spec.js';
import { formatTime } from '../../core/time-spec.js';
import { applyRetention, DEFAULT_KEEP_LABELS_MS } from '../../retention/policy.js';
import { canShrinkInPlace, compactFile, storeUsage } from '../../store/retention.js';
import { type CommonOptions, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';

interface PruneCliOptions extends CommonOptions {
  olderThan?: number;
  maxSize?: number;
  keepLabels?: number;
  compact?: boolean;
}

export async function run(options: PruneCliOptions, _args: string[], io: CliIo): Promise<number> {
  if (options.olderThan === undefined && options.maxSize === undefined && !options.compact) {
    io.stderr.write('svirt-audit prune: say what to remove: --older-than 90d, --max-size 2G (or --compact)\n');
    return 2;
  }
  const store = openCommandStore(options, io, { durability: 'normal' });
  try {
    const started = Date.now();
    const outcome = await applyRetention(
      store,
      {
        // Without --older-than, only the size bound removes denials.
        keepMs: options.olderThan ?? Number.MAX_SAFE_INTEGER / 2,
        keepLabelsMs: Math.max(options.keepLabels ?? DEFAULT_KEEP_LABELS_MS, options.olderThan ?? 0),
        maxBytes: options.maxSize ?? null,
      },
      { reason: 'prune command', pause: async () => {} },
    );
    const compacted = options.compact === true;
    if (compacted) compactFile(store);
    const usage = storeUsage(store);
    const seconds = (Date.now() - started) / 1000;
    if (options.json) {
      printJson(io, { ...outcome, compacted, fileBytes: usage.fileBytes, seconds });
    } else {
      io.stdout.write(
        `pruned ${outcome.denials} denials, ${outcome.events} events, ${outcome.allocations} ended allocations ` +
          `(${outcome.relabels} relabels)${outcome.reached !== null ? ` older than ${formatTime(outcome.reached)}` : ''}; ` +
          `${outcome.held} denials kept under holds; the store uses ${formatSize(outcome.usedBytesAfter)} ` +
          `(was ${formatSize(outcome.usedBytesBefore)}), the file is ${formatSize(usage.fileBytes)} in ${seconds.toFixed(1)} s\n`,
      );
    }
    if (outcome.overBound)
      io.stderr.write(
        `svirt-audit prune: still above --max-size: what is left is under holds (svirt-audit hold --list)\n`,
      );
    if (!compacted && !canShrinkInPlace(store) && usage.freeBytes > 0)
      io.stderr.write(
        `svirt-audit prune: ${formatSize(usage.freeBytes)} are free inside the file and reused by new records; this file predates in-place shrinking: run \`svirt-audit prune --compact\` once (rewrites the file; needs its size free on disk) to give them back\n`,
      );
    return 0;
  } finally {
    store.close();
  }
}
