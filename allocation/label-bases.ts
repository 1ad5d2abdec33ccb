/**
 * The base labels sVirt builds on, read as libvirt reads them: the first line of
 * `/etc/selinux/<type>/contexts/virtual_domain_context` is the KVM domain (svirt_t), the
 * second the TCG one (svirt_tcg_t); `virtual_image_context` holds the image label, then
 * the read-only content label. Hosts without those files get the Fedora/RHEL defaults.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabelBases {
  readonly domain: string;
  readonly tcgDomain: string;
  readonly image: string;
  readonly content: string;
}

export const DEFAULT_LABEL_BASES: LabelBases = {
  domain: 'system_u:system_r:svirt_t:s0',
  tcgDomain: 'system_u:system_r:svirt_tcg_t:s0',
  image: 'system_u:object_r:svirt_image_t:s0',
  content: 'system_u:object_r:virt_content_t:s0',
};

/** Read the bases under `selinuxRoot` (default `/etc/selinux`); never throws, falls back per line. */
export function loadLabelBases(selinuxRoot = '/etc/selinux'): LabelBases {
  const type = readPolicyType(selinuxRoot);
  const contexts = join(selinuxRoot, type, 'contexts');
  const domain = readLines(join(contexts, 'virtual_domain_context'));
  const image = readLines(join(contexts, 'virtual_image_context'));
  return {
    domain: domain[0] ?? DEFAULT_LABEL_BASES.domain,
    tcgDomain: domain[1] ?? DEFAULT_LABEL_BASES.tcgDomain,
    image: image[0] ?? DEFAULT_LABEL_BASES.image,
    content: image[1] ?? DEFAULT_LABEL_BASES.content,
  };
}

/** SELINUXTYPE from `<root>/config`, `targeted` when absent (as libselinux does). */
function readPolicyType(selinuxRoot: string): string {
  for (const line of readLines(join(selinuxRoot, 'config'))) {
    const m = /^SELINUXTYPE\s*=\s*(\S+)/.exec(line);
    if (m) return m[1] as string;
  }
  return 'targeted';
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
  } catch {
    return [];
  }
}
