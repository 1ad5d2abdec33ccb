/**
 * `svirt-audit launch`: what OpenXT's small binary between toolstack and QEMU does, for
 * anyone who starts QEMU without libvirt. Allocate a label, relabel the VM's disks
 * (remembering each original label in `trusted.svirt-audit.label`, as libvirt remembers
 * owners), set the exec context, record every step, and exec the command in place so the
 * toolstack sees QEMU's pid and exit status. A failure before exec restores what was
 * changed and releases the allocation.
 */

import {
  type Allocation,
  type DiskMode,
  type ExpectedDisk,
  firstOfEachPath,
  type SecurityModel,
} from '../core/allocation.js';
import { SvirtAuditError } from '../core/errors.js';
import { formatSelinuxContext, parseLevel, parseSelinuxContext, withLevel } from '../core/selinux-context.js';
import { isNativeError, type NativeBinding } from '../native/index.js';
import { replaceExpectedDisks } from '../store/allocations.js';
import { insertRelabel } from '../store/relabels.js';
import type { Store } from '../store/store.js';
import { allocateLabel, releaseAllocation } from '../allocation/allocate.js';
import { backingChain, type ImageFormat } from '../allocation/backing-chain.js';
import { assertHostEnforces, type HostFiles } from '../allocation/enforcing-gate.js';
import type { LabelBases } from '../allocation/label-bases.js';

export const REMEMBER_XATTR = 'trusted.svirt-audit.label';
/** What REMEMBER_XATTR holds for a file that had no label: restoring it removes ours. */
export const REMEMBERED_NO_LABEL = '';
const SELINUX_XATTR = 'security.selinux';

export interface LaunchDisk {
  path: string;
  mode: DiskMode;
  /** As the admin gives it (`:fmt=qcow2`); raw by default. No header is read to guess it. */
  format: ImageFormat;
}

export interface LaunchRequest {
  uuid: string;
  name: string;
  host: string;
  model: SecurityModel | 'auto';
  disks: LaunchDisk[];
  tcg: boolean;
  bases: LabelBases;
  /** Refuse unless the host enforces the model (the launch gate, allocation/enforcing-gate.ts). */
  requireEnforcing?: { files: HostFiles };
  /** Where backing files may be besides each image's own directory (see backing-chain.ts). */
  backingDirs: readonly string[];
  /** The process that will exec the command (its pid survives exec). */
  pid: number;
}

/** SELinux enabled → selinux; else AppArmor enabled → apparmor; else none. */
export function detectModel(native: NativeBinding): SecurityModel {
  try {
    if (native.isSelinuxEnabled()) return 'selinux';
  } catch {
    // libselinux absent: not SELinux
  }
  try {
    native.aaGetcon();
    return 'apparmor';
  } catch {
    return 'none';
  }
}

/**
 * The disks as given, then the layers of the backing chains of those given as qcow2
 * (read-only, as QEMU opens them and libvirt labels them); a path given or reached twice
 * is listed once, as given. When the disks are to be relabelled (`relabel`), a layer outside
 * `backingDirs` throws BAD_INPUT: nothing has been changed yet, and a chain that reaches out
 * of them is not ours to label; otherwise the chain just ends above it.
 */
export function launchDisks(
  disks: readonly LaunchDisk[],
  backingDirs: readonly string[],
  relabel: boolean,
): LaunchDisk[] {
  const layers = disks.flatMap((d) => {
    const chain = backingChain(d.path, { format: d.format, allowedDirs: backingDirs });
    if (chain.refused && relabel) {
      throw new SvirtAuditError(
        'BAD_INPUT',
        `the backing file ${chain.refused.name} of ${chain.layers.at(-1) ?? d.path} resolves to ${chain.refused.resolved}, ${chain.refused.reason}`,
        'nothing was relabelled; if that file is a base image you trust, allow its directory with --backing-dir DIR',
      );
    }
    return chain.layers.map((path): LaunchDisk => ({ path, mode: 'ro', format: 'raw' }));
  });
  return firstOfEachPath([...disks, ...layers]);
}

/** The label a disk should get: the image label, `svirt_image_t:s0` when shared, the content label when read-only. */
export function diskLabel(allocation: Allocation, mode: DiskMode, bases: LabelBases): string {
  if (mode === 'ro') return bases.content;
  const image = allocation.imageLabel as string;
  if (mode === 'rw') return image;
  return formatSelinuxContext(withLevel(parseSelinuxContext(image), parseLevel('s0')));
}

/**
 * Errors that leave a disk as it is instead of stopping the launch, as libvirt's SELinux
 * driver does (security_selinux.c): the filesystem keeps no labels (NFS, FUSE) or is
 * read-only. QEMU then gets what the policy allows there (virt_use_nfs, …), and a
 * refusal shows up as an unlabeled-target denial with the fix.
 */
export function labelsNotSettableHere(error: unknown): boolean {
  return isNativeError(error) && (error.code === 'EOPNOTSUPP' || error.code === 'ENOTSUP' || error.code === 'EROFS');
}

/** A file's SELinux label through libselinux when it works, else the raw xattr. */
export function readFileLabel(native: NativeBinding, path: string): string | null {
  try {
    return native.lgetfilecon(path);
  } catch (error) {
    if (isNativeError(error) && error.code === 'ENODATA') return null;
    return native.getXattr(path, SELINUX_XATTR);
  }
}

export function writeFileLabel(native: NativeBinding, path: string, label: string): void {
  try {
    native.lsetfilecon(path, label);
  } catch (error) {
    // Without libselinux (or with SELinux disabled, where it refuses) write the xattr itself.
    if (
      isNativeError(error) &&
      (error.code === 'ENOTAVAILABLE' || error.code === 'EINVAL' || error.code === 'EOPNOTSUPP')
    ) {
      native.setXattr(path, SELINUX_XATTR, label);
    } else {
      throw error;
    }
  }
}

/** Put back a file's label; null (it had none) removes the one we set. */
export function restoreFileLabel(native: NativeBinding, path: string, label: string | null): void {
  if (label === null) native.removeXattr(path, SELINUX_XATTR);
  else writeFileLabel(native, path, label);
}

export interface PreparedLaunch {
  allocation: Allocation;
  /**
   * Restores every relabel done so far and releases the allocation (when exec fails),
   * recording both in `store`: the caller closes its store before exec, so it passes the
   * one it opened again.
   */
  undo(store: Store): void;
  /** Disks whose filesystem keeps no labels or is read-only: recorded, not fatal (see labelsNotSettableHere). */
  leftUnlabelled: { path: string; error: string }[];
}

/**
 * Steps 1-4 of a launch (everything before exec). Throws SvirtAuditError with a clear
 * message after undoing what was done when a relabel or the exec context fails.
 */
export function prepareLaunch(store: Store, native: NativeBinding, request: LaunchRequest): PreparedLaunch {
  const model = request.model === 'auto' ? detectModel(native) : request.model;
  // Before anything is allocated or relabelled.
  if (request.requireEnforcing) assertHostEnforces(model, request.requireEnforcing.files);
  const disks = launchDisks(request.disks, request.backingDirs, model === 'selinux');
  const { allocation } = allocateLabel(store, {
    uuid: request.uuid,
    name: request.name,
    host: request.host,
    model,
    source: 'launch',
    tcg: request.tcg,
    pid: request.pid,
    bases: request.bases,
    forceNew: true,
  });
  const expected = disks.map((d): ExpectedDisk => ({
    path: d.path,
    mode: d.mode,
    expectedLabel: model === 'selinux' ? diskLabel(allocation, d.mode, request.bases) : null,
    relabel: model === 'selinux',
  }));
  store.immediate(() => replaceExpectedDisks(store, allocation.id, expected));

  /** Relabels to put back on failure: what each file had just before, and whether this launch remembered it. */
  const changed: { path: string; before: string | null; rememberedHere: boolean }[] = [];
  const leftUnlabelled: { path: string; error: string }[] = [];
  const undo = (into: Store) => {
    for (const c of changed.reverse()) {
      let error: string | null = null;
      try {
        restoreFileLabel(native, c.path, c.before);
        // A remembered label this launch found in place (a crashed launch's, or another
        // running guest's on a shared disk) stays: the reap of its owner restores from it.
        if (c.rememberedHere) native.removeXattr(c.path, REMEMBER_XATTR);
      } catch (e) {
        error = (e as Error).message;
      }
      into.immediate(() =>
        insertRelabel(into, {
          allocationId: allocation.id,
          path: c.path,
          labelBefore: readFileLabelQuietly(native, c.path),
          labelAfter: c.before,
          action: 'restore',
          error,
          at: Date.now(),
        }),
      );
    }
    releaseAllocation(into, request.host, request.uuid);
  };

  if (model === 'selinux') {
    for (const disk of expected) {
      const target = disk.expectedLabel as string;
      let before: string | null = null;
      let error: string | null = null;
      let leftAsIs = false;
      try {
        before = readFileLabel(native, disk.path);
        // Keep the first original: a relaunch must not remember our own label.
        const rememberedHere = native.getXattr(disk.path, REMEMBER_XATTR) === null;
        if (rememberedHere) native.setXattr(disk.path, REMEMBER_XATTR, before ?? REMEMBERED_NO_LABEL);
        changed.push({ path: disk.path, before, rememberedHere });
        writeFileLabel(native, disk.path, target);
        const after = readFileLabel(native, disk.path);
        if (after !== target) error = `read back ${after ?? 'no label'} instead of ${target}`;
      } catch (e) {
        leftAsIs = labelsNotSettableHere(e);
        error = leftAsIs
          ? `${(e as Error).message}: this filesystem keeps no labels or is read-only; left as it is, as libvirt does`
          : (e as Error).message;
      }
      store.immediate(() =>
        insertRelabel(store, {
          allocationId: allocation.id,
          path: disk.path,
          labelBefore: before,
          labelAfter: target,
          action: 'relabel',
          error,
          at: Date.now(),
        }),
      );
      if (leftAsIs) leftUnlabelled.push({ path: disk.path, error: error as string });
      else if (error !== null) {
        undo(store);
        throw new SvirtAuditError(
          'LAUNCH_FAILED',
          `cannot relabel ${disk.path} to ${target}: ${error}`,
          'the disks already relabelled were restored and the allocation released',
        );
      }
    }
  }

  try {
    if (model === 'selinux') native.setexeccon(allocation.label as string);
    else if (model === 'apparmor') native.aaChangeOnexec(allocation.label as string);
  } catch (e) {
    undo(store);
    const hint =
      model === 'selinux'
        ? 'SELinux must be enabled to run a guest confined (use --model none to launch without labels); the disks were restored and the allocation released'
        : `the AppArmor profile ${allocation.label} must be loaded (use --model none to launch without confinement); the allocation was released`;
    throw new SvirtAuditError(
      'LAUNCH_FAILED',
      `cannot set the exec ${model === 'selinux' ? 'context' : 'profile'} ${allocation.label}: ${(e as Error).message}`,
      hint,
    );
  }
  return { allocation, undo, leftUnlabelled };
}

function readFileLabelQuietly(native: NativeBinding, path: string): string | null {
  try {
    return readFileLabel(native, path);
  } catch {
    return null;
  }
}
