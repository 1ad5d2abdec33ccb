/**
 * libvirt's qemu hook (`/etc/libvirt/hooks/qemu NAME OP SUBOP EXTRA`, domain XML on
 * stdin), as described in libvirt's docs/hooks.rst. `start`/`started` carry the live XML
 * with the generated labels: we record the allocation and the disks it should label.
 * `stopped`/`release` end it. `prepare` has no label yet and records nothing.
 *
 * This runs inside libvirt's VM start path; the CLI wrapper (cli/commands/hook.ts) makes
 * sure no failure here ever fails a start unless the user asked for strict mode.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Allocation } from '../core/allocation.js';
import {
  endAllocation,
  findOpenAllocation,
  findOpenAllocationByName,
  recordExpectedDisks,
  setAllocationPid,
} from '../store/allocations.js';
import type { Store } from '../store/store.js';
import { allocateLabel } from '../allocation/allocate.js';
import { backingChain } from '../allocation/backing-chain.js';
import { domainConfinement, expectedDisks, parseDomainXml } from './domain-xml.js';
import type { LabelBases } from '../allocation/label-bases.js';

export interface QemuHookCall {
  domain: string;
  op: string;
  subop: string;
  extra: string;
  /** The domain XML libvirt wrote to stdin. */
  xml: string;
  host: string;
  now?: number;
  bases: LabelBases;
  /** Where libvirt keeps `<name>.pid` for running guests (default /run/libvirt/qemu). */
  pidDir?: string;
}

export type QemuHookOutcome =
  | { action: 'recorded'; allocation: Allocation; created: boolean }
  | { action: 'ended'; allocation: Allocation }
  | { action: 'ignored'; reason: string };

/** Operations after which the live XML holds the VM's labels. */
const RECORD_OPS = new Set(['start', 'started', 'reconnect', 'attach']);
/** Operations that mean the QEMU process is gone. */
const END_OPS = new Set(['stopped', 'release']);

/** Act on one hook call. Throws on bad XML or a database error (the caller decides the exit code). */
export function handleQemuHook(store: Store, call: QemuHookCall): QemuHookOutcome {
  const now = call.now ?? Date.now();
  if (END_OPS.has(call.op)) return endFromHook(store, call, now);
  if (!RECORD_OPS.has(call.op)) return { action: 'ignored', reason: `operation ${call.op} records nothing` };

  const def = parseDomainXml(call.xml);
  const confinement = domainConfinement(def);
  const seclabel = confinement.seclabel;
  if (confinement.model === 'selinux' && !seclabel?.label) {
    return { action: 'ignored', reason: 'the SELinux label is not generated yet' };
  }
  const pid = call.op === 'start' ? null : readGuestPid(call.pidDir ?? '/run/libvirt/qemu', def.name);
  // The live XML carries each disk's chain; where a libvirt leaves it out, it is read from
  // the image headers (before the write lock is taken), under launch's rules: only an image
  // the XML calls qcow2, layers inside its own directory (see backing-chain.ts).
  const disks = expectedDisks(def, confinement, call.bases, headerChain);

  return store.immediate(() => {
    const outcome = allocateLabel(store, {
      uuid: def.uuid,
      name: def.name,
      host: call.host,
      model: confinement.model,
      source: 'hook',
      ...(seclabel?.label !== undefined && { label: seclabel.label }),
      ...(seclabel?.imageLabel !== undefined && { imageLabel: seclabel.imageLabel }),
      pid,
      startedAt: now,
      bases: call.bases,
      replaceChanged: true,
      supersedeHolder: true,
    });
    const allocation = outcome.allocation;
    recordExpectedDisks(store, allocation.id, outcome.created, disks);
    if (pid !== null && allocation.pid !== pid) setAllocationPid(store, allocation.id, pid);
    return { action: 'recorded', allocation, created: outcome.created };
  });
}

function headerChain(path: string, format: string | undefined): string[] {
  return format === 'qcow2' ? backingChain(path, { format }).layers : [];
}

function endFromHook(store: Store, call: QemuHookCall, now: number): QemuHookOutcome {
  // The uuid is in the XML; fall back to the name argument if the XML cannot be read.
  let uuid: string | undefined;
  try {
    uuid = parseDomainXml(call.xml).uuid;
  } catch {
    uuid = undefined;
  }
  return store.immediate(() => {
    const open = uuid
      ? findOpenAllocation(store, call.host, uuid)
      : findOpenAllocationByName(store, call.host, call.domain);
    if (!open) return { action: 'ignored', reason: `${call.domain} has no open allocation` };
    return { action: 'ended', allocation: endAllocation(store, open, Math.max(now, open.startedAt)) };
  });
}

/** QEMU's pid from libvirt's pid file; null when it cannot be read (best effort). */
function readGuestPid(pidDir: string, name: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(join(pidDir, `${name}.pid`), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
