/** `svirt-audit alloc`: allocate or record a VM's label and print it. */

import type { SecurityModel } from '../../core/allocation.js';
import { allocationJson } from '../../core/allocation-json.js';
import type { CategorySet } from '../../core/category-set.js';
import { allocateLabel } from '../../launch/allocate.js';
import { loadLabelBases } from '../../launch/label-bases.js';
import { type CommonOptions, localHost, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';

interface AllocOptions extends CommonOptions {
  uuid: string;
  vm: string;
  model: SecurityModel;
  range?: CategorySet;
  single?: boolean;
  tcg?: boolean;
  pid?: number;
  label?: string;
  imageLabel?: string;
  started?: number;
  new?: boolean;
}

export function run(options: AllocOptions, _args: string[], io: CliIo): number {
  const store = openCommandStore(options, io);
  try {
    const { allocation, created } = allocateLabel(store, {
      uuid: options.uuid,
      name: options.vm,
      host: localHost(options),
      model: options.model,
      source: 'cli',
      ...(options.range && { range: options.range }),
      style: options.single ? 'single' : 'pair',
      tcg: options.tcg ?? false,
      ...(options.label !== undefined && { label: options.label }),
      ...(options.imageLabel !== undefined && { imageLabel: options.imageLabel }),
      pid: options.pid ?? null,
      ...(options.started !== undefined && { startedAt: options.started }),
      forceNew: options.new ?? false,
      bases: loadLabelBases(io.env.SVIRT_AUDIT_SELINUX_ROOT),
    });
    if (options.json) {
      printJson(io, { ...allocationJson(allocation), created });
    } else {
      io.stdout.write(`${allocation.label ?? '(no label)'}\n${allocation.imageLabel ?? '(no image label)'}\n`);
      if (!created)
        io.stderr.write(`svirt-audit: ${allocation.name} already held this allocation; returned it unchanged\n`);
    }
    return 0;
  } finally {
    store.close();
  }
}
