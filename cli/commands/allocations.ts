/** `svirt-audit allocations`: who held which label, when. */

import { allocationJson } from '../../core/allocation-json.js';
import { formatTime } from '../../core/time-spec.js';
import { listAllocations, resolveVm } from '../../store/allocations.js';
import { type CommonOptions, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../table.js';

interface AllocationsOptions extends CommonOptions {
  vm?: string;
  open?: boolean;
  limit?: number;
}

export function run(options: AllocationsOptions, _args: string[], io: CliIo): number {
  const store = openCommandStore(options, io);
  try {
    const uuid = options.vm === undefined ? undefined : resolveVm(store, options.vm).uuid;
    const rows = listAllocations(store, {
      ...(uuid !== undefined && { uuid }),
      ...(options.host !== undefined && { host: options.host }),
      openOnly: options.open ?? false,
      ...(options.limit !== undefined && { limit: options.limit }),
    });
    if (options.json) {
      printJson(io, rows.map(allocationJson));
      return 0;
    }
    io.stdout.write(
      formatTable(
        ['VM', 'HOST', 'MODEL', 'LABEL', 'FROM', 'TO', 'SOURCE'],
        rows.map((a) => [
          a.name,
          a.host,
          a.model,
          a.label ?? '-',
          formatTime(a.startedAt),
          a.endedAt === null ? 'open' : formatTime(a.endedAt),
          a.source,
        ]),
      ),
    );
    return 0;
  } finally {
    store.close();
  }
}
