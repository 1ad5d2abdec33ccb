/** `svirt-audit reap`: close allocations whose process is gone, restoring remembered disk labels. */

import { allocationJson } from '../../core/allocation-json.js';
import { reapAllocations } from '../../launch/reap.js';
import { loadNative } from '../../native/index.js';
import { type CommonOptions, localHost, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';

export function run(options: CommonOptions, _args: string[], io: CliIo): number {
  const store = openCommandStore(options, io);
  try {
    const outcomes = reapAllocations(store, loadNative(), localHost(options));
    if (options.json) {
      printJson(
        io,
        outcomes.map((o) => ({ allocation: allocationJson(o.allocation), restored: o.restored })),
      );
      return 0;
    }
    if (outcomes.length === 0) io.stdout.write('nothing to reap: every open allocation with a pid is running\n');
    for (const o of outcomes) {
      io.stdout.write(`closed ${o.allocation.name} (pid ${o.allocation.pid} is gone)\n`);
      for (const r of o.restored)
        io.stdout.write(`  restored ${r.path} to ${r.label}${r.error ? ` — FAILED: ${r.error}` : ''}\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}
