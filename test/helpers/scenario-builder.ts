/**
 * Builds a host's history for tests through the real code paths: VMs start and stop
 * through the libvirt hook handler, allocations and relabels through the launch side's
 * functions, and the kernel side as audit lines in the documented formats, written to a
 * log for the real collector to ingest. Times are minutes after `t0`.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AllocationRequest, allocateLabel, releaseAllocation } from '../../allocation/allocate.js';
import { DEFAULT_LABEL_BASES } from '../../allocation/label-bases.js';
import { recordRelabel } from '../../allocation/relabel-record.js';
import { handleQemuHook } from '../../libvirt-hook/qemu-hook.js';
import type { Store } from '../../store/store.js';

export interface DomainSpec {
  name: string;
  uuid: string;
  categories: string;
  disks: { path: string; noRelabel?: boolean }[];
  tcg?: boolean;
}

export interface AvcSpec {
  perms: string;
  scontext: string;
  tcontext: string;
  tclass: string;
  path: string;
  comm: string;
  pid: number;
  permissive?: boolean;
}

export const svirtContext = (categories: string, tcg = false) =>
  `system_u:system_r:${tcg ? 'svirt_tcg_t' : 'svirt_t'}:s0:${categories}`;
export const imageContext = (categories: string) => `system_u:object_r:svirt_image_t:s0:${categories}`;

/** Domain XML as libvirt hands the hook: one disk element per disk, a dynamic SELinux seclabel. */
export function domainXml(d: DomainSpec): string {
  const disks = d.disks
    .map(
      (disk) =>
        `<disk type='file' device='disk'><source file='${disk.path}'>${disk.noRelabel ? "<seclabel model='selinux' relabel='no'/>" : ''}</source><target dev='vda'/></disk>`,
    )
    .join('');
  return `<domain type='kvm'><name>${d.name}</name><uuid>${d.uuid}</uuid><devices>${disks}</devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'><label>${svirtContext(d.categories, d.tcg)}</label><imagelabel>${imageContext(d.categories)}</imagelabel></seclabel></domain>`;
}

/** A name as the kernel logs it: quoted, or in hex when it holds a quote, a space or a control character. */
function auditString(text: string): string {
  return /^[\x21-\x7e]*$/.test(text) && !text.includes('"')
    ? `"${text}"`
    : Buffer.from(text, 'utf8').toString('hex').toUpperCase();
}

export class HostScenario {
  readonly #lines: string[] = [];
  #serial: number;

  constructor(
    readonly store: Store,
    readonly dir: string,
    readonly host: string,
    readonly t0: number,
    firstSerial = 5000,
  ) {
    this.#serial = firstSerial;
  }

  at(minutes: number): number {
    return this.t0 + minutes * 60_000;
  }

  /** libvirt calls the qemu hook for `op` (start, stopped, …) at `minutes`. */
  hook(op: string, domain: DomainSpec, minutes: number): void {
    handleQemuHook(this.store, {
      domain: '',
      op,
      subop: '-',
      extra: '-',
      xml: domainXml(domain),
      host: this.host,
      now: this.at(minutes),
      bases: DEFAULT_LABEL_BASES,
      pidDir: join(this.dir, 'run'),
    });
  }

  allocate(request: Omit<AllocationRequest, 'host' | 'startedAt'>, minutes: number): void {
    allocateLabel(this.store, { ...request, host: this.host, startedAt: this.at(minutes) });
  }

  release(uuid: string, minutes: number): void {
    releaseAllocation(this.store, this.host, uuid, this.at(minutes));
  }

  relabel(uuid: string, path: string, from: string, to: string, error: string | null, minutes: number): void {
    recordRelabel(this.store, {
      host: this.host,
      uuid,
      path,
      from,
      to,
      action: 'relabel',
      error,
      at: this.at(minutes),
    });
  }

  /** An SELinux denial as the kernel logs it: AVC, SYSCALL, CWD, PATH, EOE. */
  avc(minutes: number, a: AvcSpec): void {
    const serial = this.#nextSerial();
    const stamp = this.#stamp(this.at(minutes) + (serial % 997), serial);
    const name = auditString(a.path.split('/').pop() ?? '');
    const permissive = a.permissive ? 1 : 0;
    this.#lines.push(
      `type=AVC msg=audit(${stamp}): avc:  denied  { ${a.perms} } for  pid=${a.pid} comm="${a.comm}" name=${name} dev="dm-0" ino=${serial} scontext=${a.scontext} tcontext=${a.tcontext} tclass=${a.tclass} permissive=${permissive}`,
      `type=SYSCALL msg=audit(${stamp}): arch=c000003e syscall=257 success=${permissive ? 'yes' : 'no'} exit=${permissive ? 3 : -13} a0=ffffff9c a1=7f items=1 ppid=1 pid=${a.pid} auid=4294967295 uid=107 gid=107 comm="${a.comm}" exe="/usr/libexec/qemu-kvm" subj=${a.scontext} key=(null)`,
      `type=CWD msg=audit(${stamp}): cwd="/"`,
      `type=PATH msg=audit(${stamp}): item=0 name=${auditString(a.path)} inode=${serial} dev=fd:00 mode=0100600 ouid=107 ogid=107 rdev=00:00 obj=${a.tcontext} nametype=NORMAL`,
      `type=EOE msg=audit(${stamp}):`,
    );
  }

  /** An AppArmor denial of `profile` opening `name`. */
  apparmorOpen(minutes: number, profile: string, name: string, pid: number, comm: string): void {
    const serial = this.#nextSerial();
    this.#lines.push(
      `type=AVC msg=audit(${this.#stamp(this.at(minutes), serial)}): apparmor="DENIED" operation="open" profile="${profile}" name="${name}" pid=${pid} comm="${comm}" requested_mask="r" denied_mask="r" fsuid=64055 ouid=0`,
    );
  }

  /** libvirt's own VIRT_MACHINE_ID record of a VM it started (the collector learns the allocation). */
  libvirtStarted(minutes: number, vm: { name: string; uuid: string; categories: string }): void {
    const serial = this.#nextSerial();
    this.#lines.push(
      `type=VIRT_MACHINE_ID msg=audit(${this.#stamp(this.at(minutes), serial)}): pid=900 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:virtd_t:s0-s0:c0.c1023 msg='virt=kvm vm="${vm.name}" uuid=${vm.uuid} vm-ctx=${svirtContext(vm.categories)} img-ctx=${imageContext(vm.categories)} model=selinux exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`,
    );
  }

  /** Write the audit lines to `audit.log` in the directory; returns its path. */
  writeLog(): string {
    const path = join(this.dir, 'audit.log');
    writeFileSync(path, `${this.#lines.join('\n')}\n`);
    return path;
  }

  #nextSerial(): number {
    return ++this.#serial;
  }

  #stamp(t: number, serial: number): string {
    return `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}`;
  }
}
