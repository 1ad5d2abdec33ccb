/** `svirt-audit alloc`: allocate or record a VM's label and print it. */

import type { SecurityModel } from '../../core/allocation.js';
import { allocationJson } from '../../core/allocation-json.js';
import type { CategorySet } from '../../core/category-set.js';
import { allocateLabel } from '../../allocation/allocate.js';
import { loadLabelBases } from '../../allocation/label-bases.js';
import { type CommonOptions, localHost, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { formatTime } from '../../core/time-spec.js';

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
  viaApi?: string;
}

export async function run(options: AllocOptions, _args: string[], io: CliIo): Promise<number> {
  if (options.viaApi !== undefined) return allocViaApi(options, io);
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

async function allocViaApi(options: AllocOptions, io: CliIo): Promise<number> {
  // Loaded only for --via-api: alloc runs at every VM start, and the HTTP client costs start-up time.
  const { postViaApi } = await import('../api-client.js');
  const body = await postViaApi(
    options.viaApi as string,
    '/v1/allocations',
    {
      uuid: options.uuid,
      name: options.vm,
      model: options.model,
      ...(options.range && { range: options.range.toString() }),
      ...(options.single && { single: true }),
      ...(options.tcg && { tcg: true }),
      ...(options.host !== undefined && { host: options.host }),
      ...(options.pid !== undefined && { pid: options.pid }),
      ...(options.label !== undefined && { label: options.label }),
      ...(options.imageLabel !== undefined && { imageLabel: options.imageLabel }),
      ...(options.started !== undefined && { started: formatTime(options.started) }),
      ...(options.new && { new: true }),
    },
    io.env.SVIRT_AUDIT_TOKEN,
  );
  if (options.json) printJson(io, body);
  else io.stdout.write(`${body.label ?? '(no label)'}\n${body.imageLabel ?? '(no image label)'}\n`);
  return 0;
}
