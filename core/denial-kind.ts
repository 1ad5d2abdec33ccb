/**
 * What kind of refusal a denial is, and what to do about it: pure rules over the denial
 * and what attribution found (who held the source and target labels at that moment).
 *
 * - cross-vm: the target's categories belong to another VM's allocation at that time.
 * - stale-label: the target's categories belonged to a VM whose allocation has ended.
 * - shared-resource: a write to a plain `s0` image or content label (shared/read-only disk).
 * - unlabeled-target: a target type the guest may not use (the image was not relabelled).
 * - apparmor-profile: an AppArmor VM profile refused a path (not in its generated rules).
 * - unattributed: a VM-looking process (svirt type with categories, libvirt-<uuid> profile)
 *   whose label no allocation held.
 * - policy: everything else (host processes, or rules the policy lacks, e.g. execmem).
 */

import type { Allocation, ExpectedDisk, RelabelAction } from './allocation.js';
import { regexLiteral, shellQuote } from './shell-quote.js';
import { formatTime } from './time-spec.js';

export const DENIAL_KINDS = [
  'cross-vm',
  'stale-label',
  'unlabeled-target',
  'shared-resource',
  'apparmor-profile',
  'unattributed',
  'policy',
] as const;

export type DenialKind = (typeof DENIAL_KINDS)[number];

/** Most severe first: the order of report headlines and of `summary`. */
export const KIND_SEVERITY: Record<DenialKind, number> = {
  'cross-vm': 0,
  'stale-label': 1,
  'unlabeled-target': 2,
  'shared-resource': 3,
  'apparmor-profile': 4,
  unattributed: 5,
  policy: 6,
};

/** Types a guest may not use without a relabel or a boolean, with the boolean that fits. */
const UNLABELED_TYPES: Record<string, string | null> = {
  default_t: null,
  user_home_t: null,
  user_home_dir_t: null,
  admin_home_t: null,
  home_root_t: null,
  tmp_t: null,
  var_t: null,
  usr_t: null,
  etc_t: null,
  unlabeled_t: null,
  virt_image_t: null,
  file_t: null,
  nfs_t: 'virt_use_nfs',
  cifs_t: 'virt_use_samba',
  fusefs_t: 'virt_use_fusefs',
};

const SHARED_TYPES = new Set(['svirt_image_t', 'virt_content_t']);
const WRITE_PERMS = new Set([
  'write',
  'append',
  'create',
  'unlink',
  'rename',
  'setattr',
  'add_name',
  'remove_name',
  'truncate',
]);
const VM_TYPES = new Set(['svirt_t', 'svirt_tcg_t', 'svirt_lxc_net_t', 'svirt_qemu_net_t', 'svirt_socket_t']);

/** The facts classification needs, as the query layer assembles them. */
export interface DenialForKind {
  model: 'selinux' | 'apparmor';
  perms: readonly string[];
  tclass: string | null;
  sourceType: string | null;
  sourceCategories: string | null;
  profile: string | null;
  targetType: string | null;
  targetCategories: string | null;
  /** The allocation holding the source label at the time (null: none). */
  sourceAllocation: Allocation | null;
  /** The allocation holding the target's categories at the time (null: none). */
  targetAllocation: Allocation | null;
  /** The last allocation that held the target's categories and ended before the time. */
  targetFormerHolder: Allocation | null;
}

export function classifyDenial(d: DenialForKind): DenialKind {
  const vmLooking =
    d.model === 'apparmor'
      ? (d.profile ?? '').startsWith('libvirt-')
      : VM_TYPES.has(d.sourceType ?? '') && (d.sourceCategories ?? '') !== '';
  if (!d.sourceAllocation) return vmLooking ? 'unattributed' : 'policy';
  if (d.model === 'apparmor') return 'apparmor-profile';
  const cats = d.targetCategories ?? '';
  if (cats !== '') {
    if (d.targetAllocation && d.targetAllocation.uuid !== d.sourceAllocation.uuid) return 'cross-vm';
    if (!d.targetAllocation && d.targetFormerHolder) return 'stale-label';
    return 'policy';
  }
  const type = d.targetType ?? '';
  if (SHARED_TYPES.has(type) && d.perms.some((p) => WRITE_PERMS.has(p))) return 'shared-resource';
  if (type in UNLABELED_TYPES) return 'unlabeled-target';
  return 'policy';
}

/** Evidence from our own records about the target path. */
export interface PathEvidence {
  relabels: readonly RelabelAction[];
  /** How the source VM's definition said the path should be labelled, if it listed it. */
  expected: ExpectedDisk | null;
}

export interface Explanation {
  /** One paragraph: what happened, in VM names. */
  cause: string;
  /** Concrete next steps. */
  fix: string[];
  /** Shown for permissive denials. */
  note: string | null;
}

/** The probable cause and the fix, for one classified denial. */
export function explainDenial(
  kind: DenialKind,
  d: DenialForKind & { path: string | null; permissive: boolean; comm: string | null; pid: number | null },
  evidence: PathEvidence,
): Explanation {
  const who = d.sourceAllocation
    ? `VM ${d.sourceAllocation.name}`
    : `a process (${d.comm ?? '?'}, pid ${d.pid ?? '?'})`;
  const what = `${d.perms.join(' ') || 'access'} on ${d.tclass ?? 'an object'}${d.path ? ` ${d.path}` : ''}`;
  const note = d.permissive ? 'permissive: this was allowed and logged; it would be denied when enforcing' : null;
  const failed = evidence.relabels.filter((r) => r.error !== null);
  const restores = evidence.relabels.filter((r) => r.action === 'restore');
  switch (kind) {
    case 'cross-vm':
      return {
        cause: `${who} tried ${what}, which is labelled for VM ${d.targetAllocation?.name} (${d.targetCategories}). sVirt refused it: one guest reached for another guest's resource.`,
        fix: [
          `Check ${who}'s definition for a disk or device that belongs to ${d.targetAllocation?.name}.`,
          'If the two guests must share it, mark the disk <shareable/> in both definitions so it gets svirt_image_t:s0.',
          'If nothing should reach it, treat this as a security incident: svirt-audit report --vm ' +
            (d.sourceAllocation?.name ?? '?'),
        ],
        note,
      };
    case 'stale-label':
      return {
        cause: `${who} tried ${what}, still labelled ${d.targetCategories} from VM ${d.targetFormerHolder?.name}, whose allocation ended${d.targetFormerHolder?.endedAt ? ` at ${formatTime(d.targetFormerHolder.endedAt)}` : ''}. The label was left behind: ${restores.length === 0 ? 'no restore of this path was recorded' : failed.length > 0 ? `a relabel or restore failed (${failed[failed.length - 1]?.error})` : 'the recorded restore did not stick'}.`,
        fix: [
          `restorecon -v ${d.path ? shellQuote(d.path) : '<path>'}   (or chcon to the image label of the VM that should use it)`,
          'Make sure the VM that used it is shut down through libvirt so its labels are restored.',
        ],
        note,
      };
    case 'unlabeled-target': {
      const boolean = UNLABELED_TYPES[d.targetType ?? ''] ?? null;
      const relabel =
        evidence.expected?.relabel === false
          ? "the VM definition has <seclabel relabel='no'/> for this disk, so libvirt did not relabel it"
          : failed.length > 0
            ? `the relabel was recorded and failed: ${failed[failed.length - 1]?.error}`
            : evidence.relabels.length > 0
              ? 'a relabel was recorded but the file does not carry it'
              : 'no relabel of this path was recorded';
      return {
        cause: `${who} tried ${what}, labelled ${d.targetType} (not an image label the guest may use): ${relabel}.`,
        fix: boolean
          ? [
              `setsebool -P ${boolean} 1   (the image is on ${d.targetType === 'nfs_t' ? 'NFS' : d.targetType === 'cifs_t' ? 'CIFS/Samba' : 'FUSE'})`,
            ]
          : [
              `Move the image under /var/lib/libvirt/images, or label its directory: semanage fcontext -a -t virt_image_t ${shellQuote(`${regexLiteral(directoryOf(d.path))}(/.*)?`)} && restorecon -Rv ${shellQuote(directoryOf(d.path))}`,
              `For a one-off: chcon -t svirt_image_t ${d.path ? shellQuote(d.path) : '<path>'} (lost on relabel)`,
              "Remove relabel='no' from the disk's <seclabel> if it is set, so libvirt labels it at start.",
            ],
        note,
      };
    }
    case 'shared-resource':
      return {
        cause: `${who} tried ${what}, labelled ${d.targetType}:s0: the disk is shared (<shareable/>) or read-only (<readonly/>) in the VM definition, and that label does not allow this write.`,
        fix: [
          'If the guest must write it, remove <readonly/>; for a disk shared between guests, the guests must coordinate (a cluster filesystem) and the write needs <shareable/> with a writable format (raw).',
          'If it should be read-only, the guest is misbehaving or the disk is mounted read-write inside it.',
        ],
        note,
      };
    case 'apparmor-profile':
      return {
        cause: `${who}'s AppArmor profile (${d.profile}) does not allow ${what}: the path is not among the rules virt-aa-helper generated from the VM definition (a hot-plugged or unusual path).`,
        fix: [
          `Add the path to /etc/apparmor.d/libvirt/${d.profile}.files (or to the definition, so virt-aa-helper generates it) and reload: apparmor_parser -r /etc/apparmor.d/libvirt/${d.profile}`,
          'For files every guest needs, add them to /etc/apparmor.d/abstractions/libvirt-qemu (local override).',
        ],
        note,
      };
    case 'unattributed':
      return {
        cause: `A VM-looking process (${d.model === 'apparmor' ? `profile ${d.profile}` : `${d.sourceType} with categories ${d.sourceCategories}`}, ${d.comm ?? '?'} pid ${d.pid ?? '?'}) was refused ${what}, but no allocation we know of held that label at that time.`,
        fix: [
          'Record allocations as VMs start: svirt-audit install-hook (libvirt), or svirt-audit alloc / launch from your launcher.',
          "Backfill libvirt's own records so earlier starts are known: svirt-audit ingest /var/log/audit/audit.log*",
        ],
        note,
      };
    case 'policy':
      return {
        cause: `${who} was refused ${what} by the policy itself (source ${d.sourceType ?? d.profile ?? '?'}, target ${d.targetType ?? '?'}), not by a label mix-up.`,
        fix:
          d.perms.includes('execmem') && (d.sourceType ?? '').startsWith('svirt')
            ? ['TCG guests need executable memory: setsebool -P virt_use_execmem 1']
            : [
                'See what rule would allow it: audit2allow -w -a (and audit2why); change the policy only if the access is expected.',
              ],
        note,
      };
  }
}

/** The directory of a file the log named (`/dir` when it named none). */
function directoryOf(path: string | null | undefined): string {
  return path ? path.replace(/\/[^/]*$/, '') || '/' : '/dir';
}
