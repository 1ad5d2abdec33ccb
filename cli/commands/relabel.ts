/** `svirt-audit relabel`: record a relabel or restore against the VM's open allocation. */

import { formatTime } from '../../core/time-spec.js';
import { recordRelabel } from '../../allocation/relabel-record.js';
import { type CommonOptions, localHost, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';

interface RelabelOptions extends CommonOptions {
  uuid: string;
  path: string;
  from: string;
  to: string;
  restore?: boolean;
  error?: string;
}

export function run(options: RelabelOptions, _args: string[], io: CliIo): number {
  const store = openCommandStore(options, io);
  try {
    const action = recordRelabel(store, {
      host: localHost(options),
      uuid: options.uuid,
      path: options.path,
      from: options.from,
      to: options.to,
      action: options.restore ? 'restore' : 'relabel',
      error: options.error ?? null,
    });
    if (options.json) printJson(io, { ...action, at: formatTime(action.at) });
    else
      io.stdout.write(
        `recorded ${action.action} of ${action.path}: ${action.labelBefore} -> ${action.labelAfter}${action.error ? ` (failed: ${action.error})` : ''}\n`,
      );
    return 0;
  } finally {
    store.close();
  }
}
