/**
 * A denial as SIEMs take it: Elastic Common Schema (ECS) JSON and ArcSight CEF. Pure
 * formatting of the denial's JSON (core/denial-json.ts); the field mapping is documented
 * in docs/siem.md. Everything a guest chose (paths, comm, names) is escaped per format.
 */

import type { DenialJson } from './denial-json.js';
import { KIND_SEVERITY, type DenialKind } from './denial-kind.js';

export const ECS_VERSION = '8.11.0';

/** 1 (cross-vm) … 7 (policy): ECS `event.severity`, lower is worse, as our kinds are ordered. */
const severity = (kind: DenialKind) => KIND_SEVERITY[kind] + 1;

/** The ECS category of a denial's object class. */
function objectCategory(tclass: string | null): string {
  if (tclass === null) return 'host';
  if (/^(file|dir|lnk_file|chr_file|blk_file|sock_file|fifo_file)$/.test(tclass)) return 'file';
  if (/socket$/.test(tclass)) return 'network';
  if (tclass === 'process' || tclass === 'process2') return 'process';
  return 'host';
}

export function denialEcs(d: DenialJson, version: string): Record<string, unknown> {
  return {
    '@timestamp': d.time,
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      // ECS expects `denied` only under intrusion_detection (and network), `access` under
      // the object's category: both together say "an access, refused by the MAC policy".
      category: [objectCategory(d.tclass), 'intrusion_detection'],
      type: ['access', 'denied'],
      outcome: 'failure',
      action: d.model === 'apparmor' ? 'apparmor-denied' : 'selinux-avc-denied',
      module: 'svirt_audit',
      dataset: 'svirt_audit.denial',
      provider: 'svirt-audit',
      id: String(d.id),
      severity: severity(d.kind),
      reason: d.kind,
    },
    host: { name: d.host },
    process: {
      ...(d.source.pid !== null && { pid: d.source.pid }),
      ...(d.source.comm !== null && { name: d.source.comm }),
      ...(d.source.exe !== null && { executable: d.source.exe }),
    },
    ...(d.target.path !== null || d.target.name !== null
      ? {
          file: {
            ...(d.target.path !== null && { path: d.target.path }),
            ...((d.target.name ?? d.target.path) !== null && {
              name: d.target.name ?? (d.target.path as string).split('/').pop(),
            }),
            ...(d.target.inode !== null && { inode: String(d.target.inode) }),
          },
        }
      : {}),
    observer: { product: 'svirt-audit', vendor: 'svirt-audit', version },
    svirt_audit: {
      kind: d.kind,
      model: d.model,
      permissive: d.permissive,
      perms: d.perms,
      tclass: d.tclass,
      serial: d.serial,
      source: { context: d.source.context, type: d.source.type, categories: d.source.categories, vm: d.source.vm },
      target: { context: d.target.context, type: d.target.type, categories: d.target.categories, vm: d.target.vm },
      ...(d.apparmor && { apparmor: d.apparmor }),
    },
  };
}

/** CEF header fields: `\` and `|` escaped, line breaks to spaces. */
const header = (s: string) =>
  s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]/g, ' ');
/** CEF extension values: `\`, `=` and line breaks escaped. */
const value = (s: string) => s.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r/g, '\\r').replace(/\n/g, '\\n');

/** One CEF:0 line (no trailing newline). Severity 10 (cross-vm) … 4 (policy). */
export function denialCef(d: DenialJson, version: string): string {
  const name = `${d.kind}: ${d.perms.join(',')} ${d.tclass ?? ''}`.trim();
  const ext: [string, string | number | null][] = [
    ['rt', Date.parse(d.time)],
    ['dvchost', d.host],
    ['act', 'denied'],
    ['outcome', 'failure'],
    ['spid', d.source.pid],
    ['sproc', d.source.comm],
    ['filePath', d.target.path],
    ['fname', d.target.name],
    ['cs1Label', 'sourceVm'],
    ['cs1', d.source.vm ? `${d.source.vm.name} (${d.source.vm.uuid})` : null],
    ['cs2Label', 'targetVm'],
    ['cs2', d.target.vm ? `${d.target.vm.name} (${d.target.vm.uuid})` : null],
    ['cs3Label', 'sourceContext'],
    ['cs3', d.source.context ?? d.apparmor?.profile ?? null],
    ['cs4Label', 'targetContext'],
    ['cs4', d.target.context],
    ['cs5Label', 'tclass'],
    ['cs5', d.tclass],
    ['cn1Label', 'denialId'],
    ['cn1', d.id],
  ];
  const extension = ext
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${value(String(v))}`)
    .join(' ');
  return `CEF:0|svirt-audit|svirt-audit|${header(version)}|${header(d.kind)}|${header(name)}|${10 - KIND_SEVERITY[d.kind]}|${extension}`;
}
