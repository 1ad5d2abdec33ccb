/** The launch-side facts: which VM held which label, from when to when, and what was relabelled. */

export type SecurityModel = 'selinux' | 'apparmor' | 'none';
export type AllocationSource = 'hook' | 'launch' | 'api' | 'cli' | 'audit';
export type DiskMode = 'rw' | 'ro' | 'shared';

export interface Allocation {
  readonly id: number;
  readonly host: string;
  readonly uuid: string;
  readonly name: string;
  readonly model: SecurityModel;
  /** Process label: an SELinux context, or the AppArmor profile `libvirt-<uuid>`. */
  readonly label: string | null;
  readonly imageLabel: string | null;
  /** Canonical category set ('' when the label has none). */
  readonly categories: string;
  readonly pid: number | null;
  readonly source: AllocationSource;
  readonly startedAt: number;
  readonly endedAt: number | null;
}

/** One VM as known from its allocations. */
export interface VmSummary {
  readonly uuid: string;
  /** The name of its latest allocation. */
  readonly name: string;
  readonly hosts: string[];
  readonly allocations: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The open allocation, if the VM is running now. */
  readonly running: Allocation | null;
}

/** A disk as the VM definition describes it: what its label should become. */
export interface ExpectedDisk {
  readonly path: string;
  readonly mode: DiskMode;
  /** The label the security driver should give it; null when it keeps its own. */
  readonly expectedLabel: string | null;
  /** False for `<seclabel relabel='no'/>` on the disk or the whole domain. */
  readonly relabel: boolean;
}

/** The first disk of each path, in order: a base image under two overlays is one file to label. */
export function firstOfEachPath<T extends { readonly path: string }>(disks: readonly T[]): T[] {
  const listed = new Set<string>();
  return disks.filter((d) => {
    if (listed.has(d.path)) return false;
    listed.add(d.path);
    return true;
  });
}

export interface RelabelAction {
  readonly id: number;
  readonly allocationId: number;
  readonly path: string;
  readonly labelBefore: string | null;
  readonly labelAfter: string | null;
  readonly action: 'relabel' | 'restore';
  /** Null when the relabel worked; the error text otherwise. */
  readonly error: string | null;
  readonly at: number;
}

/** The AppArmor profile name libvirt gives a guest. */
export function apparmorProfileFor(uuid: string): string {
  return `libvirt-${uuid}`;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** libvirt accepts uuids with or without dashes; we store the dashed lower-case form. */
export function normalizeUuid(text: string): string | undefined {
  const t = text.trim();
  if (!UUID.test(t)) return undefined;
  const hex = t.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
