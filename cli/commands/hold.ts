/** `svirt-audit hold`: keep a VM's records out of pruning (an incident under investigation). */

import { formatTime } from '../../core/time-spec.js';
import { resolveVm } from '../../store/allocations.js';
import { addHold, type Hold, listHolds, releaseHold } from '../../store/retention.js';
import { type CommonOptions, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { visible } from '../terminal-text.js';

interface HoldCliOptions extends CommonOptions {
  vm?: string;
  reason?: string;
  since?: number;
  until?: number;
  list?: boolean;
  all?: boolean;
  release?: number;
}

export function holdJson(h: Hold) {
  return {
    id: h.id,
    vm: { uuid: h.vmUuid, name: h.vmName },
    reason: h.reason,
    since: h.since === null ? null : formatTime(h.since),
    until: h.until === null ? null : formatTime(h.until),
    createdAt: formatTime(h.createdAt),
    releasedAt: h.releasedAt === null ? null : formatTime(h.releasedAt),
  };
}

const describe = (h: Hold) =>
  `hold ${h.id} on ${visible(h.vmName)} (${h.vmUuid}): ${JSON.stringify(h.reason)}, ` +
  `${h.since === null ? 'from the start' : `from ${formatTime(h.since)}`} ` +
  `${h.until === null ? 'on' : `until ${formatTime(h.until)}`}` +
  `${h.releasedAt === null ? '' : `, released ${formatTime(h.releasedAt)}`}`;

export function run(options: HoldCliOptions, _args: string[], io: CliIo): number {
  const modes = [options.list, options.release !== undefined, options.vm !== undefined].filter(Boolean).length;
  if (modes !== 1) {
    io.stderr.write('svirt-audit hold: give one of --vm X --reason TEXT, --list, --release ID\n');
    return 2;
  }
  if (options.vm !== undefined && !options.reason?.trim()) {
    io.stderr.write('svirt-audit hold: --reason is required (the ticket or incident it is for)\n');
    return 2;
  }
  const store = openCommandStore(options, io);
  try {
    if (options.list) {
      const holds = listHolds(store, { released: options.all === true });
      if (options.json) printJson(io, holds.map(holdJson));
      else if (holds.length === 0) io.stdout.write('no holds\n');
      else for (const h of holds) io.stdout.write(`${describe(h)}\n`);
      return 0;
    }
    let hold: Hold;
    if (options.release !== undefined) hold = releaseHold(store, options.release);
    else {
      const vm = resolveVm(store, options.vm as string);
      hold = addHold(store, {
        vmUuid: vm.uuid,
        vmName: vm.name,
        reason: (options.reason as string).trim(),
        since: options.since ?? null,
        until: options.until ?? null,
      });
    }
    if (options.json) printJson(io, holdJson(hold));
    else io.stdout.write(`${options.release !== undefined ? 'released ' : ''}${describe(hold)}\n`);
    return 0;
  } finally {
    store.close();
  }
}
