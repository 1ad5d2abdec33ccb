/** `svirt-audit vms`: the VMs we have records of. */

import { vmJson } from '../../core/allocation-json.js';
import { formatTime } from '../../core/time-spec.js';
import { openReadBackend } from '../../store/read-backend.js';
import { type CommonOptions, databasePath, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../table.js';

export async function run(options: CommonOptions, _args: string[], io: CliIo): Promise<number> {
  const backend = await openReadBackend(databasePath(options, io));
  try {
    const vms = await backend.vms();
    if (options.json) {
      printJson(io, vms.map(vmJson));
      return 0;
    }
    if (vms.length === 0) {
      io.stdout.write(
        'no VMs recorded yet: install the libvirt hook (svirt-audit install-hook) or record one with svirt-audit alloc\n',
      );
      return 0;
    }
    io.stdout.write(
      formatTable(
        ['NAME', 'UUID', 'STATE', 'LABEL', 'HOSTS', 'ALLOCS', 'LAST SEEN'],
        vms.map((v) => [
          v.name,
          v.uuid,
          v.running ? 'running' : 'stopped',
          v.running ? (v.running.label ?? '-') : '-',
          v.hosts.join(','),
          String(v.allocations),
          formatTime(v.lastSeen),
        ]),
      ),
    );
    return 0;
  } finally {
    await backend.close();
  }
}
