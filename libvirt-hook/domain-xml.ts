/**
 * Reading libvirt domain XML (what the qemu hook gets on stdin): the VM's identity, its
 * security labels and its disks. Pure; elements are as documented in libvirt's
 * docs/formatdomain.rst ("Security label", "Hard drives, floppy disks, CDROMs").
 */

import { SaxesParser, type SaxesTagPlain } from 'saxes';
import type { DiskMode, ExpectedDisk } from '../core/allocation.js';
import { firstOfEachPath, normalizeUuid } from '../core/allocation.js';
import { SvirtAuditError } from '../core/errors.js';
import { formatSelinuxContext, parseLevel, parseSelinuxContext, withLevel } from '../core/selinux-context.js';
import type { LabelBases } from '../allocation/label-bases.js';

export interface SecLabel {
  /** `dynamic`, `static` or `none`. */
  readonly type: string;
  /** `selinux`, `apparmor`, `dac`, or undefined when libvirt picks the default. */
  readonly model: string | undefined;
  readonly relabel: boolean;
  readonly label: string | undefined;
  readonly imageLabel: string | undefined;
  readonly baseLabel: string | undefined;
}

export interface DiskSecLabel {
  readonly model: string | undefined;
  readonly relabel: boolean | undefined;
  readonly label: string | undefined;
}

export interface DomainDisk {
  /** `disk`, `cdrom`, `floppy`, `lun`. */
  readonly device: string;
  /** A local path (file=, dev= or dir=); undefined for network and pool-volume sources. */
  readonly path: string | undefined;
  readonly readonly: boolean;
  readonly shareable: boolean;
  /** The image format `<driver type=…>` names (`raw`, `qcow2`, …); undefined when the XML names none. */
  readonly format: string | undefined;
  readonly seclabels: readonly DiskSecLabel[];
  /**
   * The backing chain below `path`, top down (`<backingStore>` elements, which libvirt
   * fills in the live XML it hands the hook): local files and devices only.
   */
  readonly backing: readonly BackingLayer[];
  /** False when the XML has no `<backingStore>` under the disk: the chain was not given (an empty one means "none"). */
  readonly backingGiven: boolean;
}

/** One layer of a disk's backing chain, with the `<seclabel>` of its own `<source>`, if any. */
export interface BackingLayer {
  readonly path: string;
  readonly seclabels: readonly DiskSecLabel[];
}

export interface DomainDefinition {
  readonly name: string;
  readonly uuid: string;
  readonly seclabels: readonly SecLabel[];
  readonly disks: readonly DomainDisk[];
}

interface MutableDisk {
  device: string;
  path: string | undefined;
  readonly: boolean;
  shareable: boolean;
  format: string | undefined;
  seclabels: DiskSecLabel[];
  backing: { path: string; seclabels: DiskSecLabel[] }[];
  backingGiven: boolean;
}

/** Parse domain XML. Throws HOOK_INPUT when it is not XML or lacks a name or uuid. */
export function parseDomainXml(xml: string): DomainDefinition {
  const parser = new SaxesParser();
  const path: string[] = [];
  let name: string | undefined;
  let uuid: string | undefined;
  const seclabels: SecLabel[] = [];
  const disks: DomainDisk[] = [];
  let disk: MutableDisk | undefined;
  let seclabel: { attrs: Record<string, string>; label?: string; imageLabel?: string; baseLabel?: string } | undefined;
  /** A `<source><seclabel>` being read, and the list it goes to (the disk's or a layer's). */
  let diskSeclabel: { attrs: Record<string, string>; label?: string; into: DiskSecLabel[] } | undefined;
  /** The seclabels of the `<source>` being read inside a `<backingStore>`. */
  let layerSeclabels: DiskSecLabel[] = [];
  let text = '';

  parser.on('opentag', (tag: SaxesTagPlain) => {
    path.push(tag.name);
    text = '';
    const where = path.join('/');
    const attrs = tag.attributes as Record<string, string>;
    if (where === 'domain/seclabel') seclabel = { attrs };
    else if (where === 'domain/devices/disk') {
      disk = {
        device: attrs.device ?? 'disk',
        path: undefined,
        readonly: false,
        shareable: false,
        format: undefined,
        seclabels: [],
        backing: [],
        backingGiven: false,
      };
    } else if (disk && where === 'domain/devices/disk/source') {
      disk.path = attrs.file ?? attrs.dev ?? attrs.dir;
    } else if (disk && where === 'domain/devices/disk/driver') {
      disk.format = attrs.type;
    } else if (disk && where === 'domain/devices/disk/backingStore') {
      disk.backingGiven = true;
    } else if (disk && tag.name === 'source' && path[path.length - 2] === 'backingStore') {
      // Nested <backingStore> elements, one per layer; network layers have no local path.
      const layer = attrs.file ?? attrs.dev;
      layerSeclabels = [];
      if (layer !== undefined) disk.backing.push({ path: layer, seclabels: layerSeclabels });
    } else if (disk && where === 'domain/devices/disk/readonly') disk.readonly = true;
    else if (disk && where === 'domain/devices/disk/shareable') disk.shareable = true;
    else if (disk && where === 'domain/devices/disk/source/seclabel') diskSeclabel = { attrs, into: disk.seclabels };
    else if (disk && tag.name === 'seclabel' && path[path.length - 3] === 'backingStore') {
      diskSeclabel = { attrs, into: layerSeclabels };
    }
  });
  parser.on('text', (t) => {
    text += t;
  });
  parser.on('cdata', (t) => {
    text += t;
  });
  parser.on('closetag', () => {
    const where = path.join('/');
    const value = text.trim();
    if (where === 'domain/name') name = value;
    else if (where === 'domain/uuid') uuid = value;
    else if (seclabel && where === 'domain/seclabel/label') seclabel.label = value;
    else if (seclabel && where === 'domain/seclabel/imagelabel') seclabel.imageLabel = value;
    else if (seclabel && where === 'domain/seclabel/baselabel') seclabel.baseLabel = value;
    else if (seclabel && where === 'domain/seclabel') {
      seclabels.push({
        type: seclabel.attrs.type ?? 'dynamic',
        model: seclabel.attrs.model,
        relabel: seclabel.attrs.relabel !== 'no',
        label: seclabel.label,
        imageLabel: seclabel.imageLabel,
        baseLabel: seclabel.baseLabel,
      });
      seclabel = undefined;
    } else if (diskSeclabel && where.endsWith('/source/seclabel/label')) diskSeclabel.label = value;
    else if (diskSeclabel && where.endsWith('/source/seclabel')) {
      const relabel = diskSeclabel.attrs.relabel;
      diskSeclabel.into.push({
        model: diskSeclabel.attrs.model,
        relabel: relabel === undefined ? undefined : relabel !== 'no',
        label: diskSeclabel.label,
      });
      diskSeclabel = undefined;
    } else if (disk && where === 'domain/devices/disk') {
      disks.push(disk);
      disk = undefined;
    }
    path.pop();
    text = '';
  });

  try {
    parser.write(xml).close();
  } catch (error) {
    throw new SvirtAuditError(
      'HOOK_INPUT',
      `the domain XML is not well-formed: ${(error as Error).message}`,
      'libvirt passes the domain XML on stdin; run the hook from libvirt, or pipe `virsh dumpxml NAME` into it',
    );
  }
  if (!name) throw new SvirtAuditError('HOOK_INPUT', 'the domain XML has no <name>');
  const normalized = uuid === undefined ? undefined : normalizeUuid(uuid);
  if (!normalized)
    throw new SvirtAuditError('HOOK_INPUT', `the domain XML has no valid <uuid> (got ${uuid ?? 'none'})`);
  return { name, uuid: normalized, seclabels, disks };
}

/** The VM's confinement as the hook records it. */
export interface Confinement {
  model: 'selinux' | 'apparmor' | 'none';
  /** The domain seclabel it came from (undefined for `none`). */
  seclabel: SecLabel | undefined;
}

/**
 * Which security model confines the VM: the first non-DAC seclabel that carries a
 * label. `type='none'`, no seclabel, or only a DAC one mean model `none`.
 */
export function domainConfinement(def: DomainDefinition): Confinement {
  for (const s of def.seclabels) {
    if (s.type === 'none' || s.model === 'dac') continue;
    if (s.model === 'selinux' || (s.model === undefined && s.label?.includes(':'))) {
      return { model: 'selinux', seclabel: s };
    }
    if (s.model === 'apparmor' || (s.model === undefined && s.label?.startsWith('libvirt-'))) {
      return { model: 'apparmor', seclabel: s };
    }
  }
  return { model: 'none', seclabel: undefined };
}

/**
 * The disks and the labels libvirt's driver gives them: writable disks the VM's image
 * label, shareable ones the image type at plain `s0` (so every VM may use them),
 * read-only ones the content label. `relabel='no'` on the domain or the disk means the
 * file keeps its label. Disks without a local path (network, pool volumes) are left out.
 *
 * The layers of a disk's backing chain are opened read-only, and libvirt gives them the
 * content label unless a seclabel says otherwise (security_selinux.c labels a layer below
 * the top with the layer's own seclabel, else the top's, else the content context). A base image
 * shared by two overlays is listed once. Where the XML gives no chain, `chainOf` (the
 * caller's reader of image headers, given the format the XML names) may supply it.
 */
export function expectedDisks(
  def: DomainDefinition,
  confinement: Confinement,
  bases: LabelBases,
  chainOf?: (path: string, format: string | undefined) => string[],
): ExpectedDisk[] {
  const out: ExpectedDisk[] = [];
  for (const disk of def.disks) {
    if (disk.path === undefined) continue;
    const mode: DiskMode = disk.readonly ? 'ro' : disk.shareable ? 'shared' : 'rw';
    out.push({ path: disk.path, mode, ...diskLabel(disk.seclabels, mode, confinement, bases) });
    const chain =
      disk.backingGiven || !chainOf
        ? disk.backing
        : chainOf(disk.path, disk.format).map((path) => ({ path, seclabels: [] }));
    for (const layer of chain) {
      // A layer's own seclabel decides when it says something; else the disk's does.
      const own = selinuxSeclabel(layer.seclabels);
      const rule = own && (own.relabel === false || own.label) ? layer.seclabels : disk.seclabels;
      out.push({ path: layer.path, mode: 'ro', ...diskLabel(rule, 'ro', confinement, bases) });
    }
  }
  return firstOfEachPath(out);
}

function selinuxSeclabel(seclabels: readonly DiskSecLabel[]): DiskSecLabel | undefined {
  return seclabels.find((s) => s.model === undefined || s.model === 'selinux');
}

function diskLabel(
  seclabels: readonly DiskSecLabel[],
  mode: DiskMode,
  confinement: Confinement,
  bases: LabelBases,
): { expectedLabel: string | null; relabel: boolean } {
  if (confinement.model !== 'selinux' || !confinement.seclabel) return { expectedLabel: null, relabel: false };
  const own = selinuxSeclabel(seclabels);
  if (!confinement.seclabel.relabel || own?.relabel === false) return { expectedLabel: null, relabel: false };
  if (own?.label) return { expectedLabel: own.label, relabel: true };
  if (mode === 'ro') return { expectedLabel: bases.content, relabel: true };
  const image = confinement.seclabel.imageLabel;
  if (!image) return { expectedLabel: null, relabel: true };
  if (mode === 'rw') return { expectedLabel: image, relabel: true };
  try {
    return {
      expectedLabel: formatSelinuxContext(withLevel(parseSelinuxContext(image), parseLevel('s0'))),
      relabel: true,
    };
  } catch {
    return { expectedLabel: null, relabel: true };
  }
}
