/** `svirt-audit release`: end a VM's open allocation. */

import { allocationJson } from '../../core/allocation-json.js';
import { formatTime } from '../../core/time-spec.js';
import { releaseAllocation } from '../../allocation/allocate.js';
import { type CommonOptions, localHost, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';

interface ReleaseOptions extends CommonOptions {
  uuid: string;
  ended?: number;
}

export function run(options: ReleaseOptions, _args: string[], io: CliIo): number {
  const store = openCommandStore(options, io);
  try {
    const allocation = releaseAllocation(store, localHost(options), options.uuid, options.ended ?? Date.now());
    if (options.json) printJson(io, allocationJson(allocation));
    else
      io.stdout.write(
        `released ${allocation.name} (${allocation.label ?? 'no label'}) at ${formatTime(allocation.endedAt as number)}\n`,
      );
    return 0;
  } finally {
    store.close();
  }
}
