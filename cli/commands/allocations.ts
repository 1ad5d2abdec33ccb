/** `svirt-audit allocations`: who held which label, when. */

import { allocationJson } from '../../core/allocation-json.js';
import { formatTime } from '../../core/time-spec.js';
import { openReadBackend } from '../../store/read-backend.js';
import { type CommonOptions, databasePath, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../table.js';

interface AllocationsOptions extends CommonOptions {
  vm?: string;
  open?: boolean;
  limit?: number;
}

export async function run(options: AllocationsOptions, _args: string[], io: CliIo): Promise<number> {
  const backend = await openReadBackend(databasePath(options, io));
  try {
    const uuid = options.vm === undefined ? undefined : (await backend.resolveVm(options.vm)).uuid;
    const rows = await backend.allocations({
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
    await backend.close();
  }
}
