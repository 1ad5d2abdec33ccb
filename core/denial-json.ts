/**
 * The JSON shape of a denial (docs/architecture.md, Contracts), shared by the CLI's --json
 * and the API. Field names are stable; `vm` is null when no allocation held the label.
 */

import type { Allocation } from './allocation.js';
import type { AttributedDenial } from './attributed-denial.js';
import type { FromSchema } from 'json-schema-to-ts';
import { DENIAL_KINDS } from './denial-kind.js';
import { formatTime } from './time-spec.js';

const nullableString = { type: ['string', 'null'] } as const;
const nullableInteger = { type: ['integer', 'null'] } as const;
const vmRefSchema = {
  type: ['object', 'null'],
  properties: { uuid: { type: 'string' }, name: { type: 'string' } },
  required: ['uuid', 'name'],
  additionalProperties: false,
} as const;

/**
 * The denial's JSON schema: the API registers it (api/schemas.ts), reports embed it
 * (report/report.schema.json's $defs.denial, kept equal by a test), and DenialJson is
 * derived from it, so the three cannot drift.
 */
export const DENIAL_JSON_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    time: { type: 'string' },
    host: { type: 'string' },
    serial: { type: 'integer' },
    model: { enum: ['selinux', 'apparmor'] },
    kind: { enum: DENIAL_KINDS },
    permissive: { type: 'boolean' },
    perms: { type: 'array', items: { type: 'string' } },
    tclass: nullableString,
    source: {
      type: 'object',
      properties: {
        context: nullableString,
        type: nullableString,
        categories: nullableString,
        pid: nullableInteger,
        comm: nullableString,
        exe: nullableString,
        vm: vmRefSchema,
      },
      required: ['context', 'type', 'categories', 'pid', 'comm', 'exe', 'vm'],
      additionalProperties: false,
    },
    target: {
      type: 'object',
      properties: {
        context: nullableString,
        type: nullableString,
        categories: nullableString,
        path: nullableString,
        name: nullableString,
        dev: nullableString,
        inode: nullableInteger,
        vm: vmRefSchema,
      },
      required: ['context', 'type', 'categories', 'path', 'name', 'dev', 'inode', 'vm'],
      additionalProperties: false,
    },
    apparmor: {
      type: ['object', 'null'],
      properties: {
        profile: { type: 'string' },
        child: nullableString,
        operation: nullableString,
        requestedMask: nullableString,
        deniedMask: nullableString,
      },
      required: ['profile', 'child', 'operation', 'requestedMask', 'deniedMask'],
      additionalProperties: false,
    },
  },
  required: [
    'id',
    'time',
    'host',
    'serial',
    'model',
    'kind',
    'permissive',
    'perms',
    'tclass',
    'source',
    'target',
    'apparmor',
  ],
  additionalProperties: false,
} as const;

export type DenialJson = FromSchema<typeof DENIAL_JSON_SCHEMA>;
export type VmRefJson = NonNullable<DenialJson['source']['vm']>;

const vmRef = (a: Allocation | null): VmRefJson | null => (a ? { uuid: a.uuid, name: a.name } : null);

export function denialJson(d: AttributedDenial): DenialJson {
  return {
    id: d.id,
    time: formatTime(d.time),
    host: d.host,
    serial: d.serial,
    model: d.model,
    kind: d.kind,
    permissive: d.permissive,
    perms: d.perms,
    tclass: d.tclass,
    source: {
      context: d.source.context,
      type: d.source.type,
      categories: d.source.categories,
      pid: d.source.pid,
      comm: d.source.comm,
      exe: d.source.exe,
      vm: vmRef(d.source.allocation),
    },
    target: {
      context: d.target.context,
      type: d.target.type,
      categories: d.target.categories,
      path: d.target.path,
      name: d.target.name,
      dev: d.target.dev,
      inode: d.target.inode,
      vm: vmRef(d.target.allocation),
    },
    apparmor: d.apparmor
      ? {
          profile: d.apparmor.profile,
          child: d.apparmor.child,
          operation: d.apparmor.operation,
          requestedMask: d.apparmor.requestedMask,
          deniedMask: d.apparmor.deniedMask,
        }
      : null,
  };
}

/** CSV columns for `denials --csv`, in order; documented in docs/cli-output.md. */
export const DENIAL_CSV_COLUMNS = [
  'id',
  'time',
  'host',
  'serial',
  'kind',
  'vm',
  'vm_uuid',
  'model',
  'permissive',
  'perms',
  'tclass',
  'source_context',
  'comm',
  'pid',
  'exe',
  'target_context',
  'target_path',
  'target_vm',
] as const;

export function denialCsvRow(d: DenialJson): string[] {
  return [
    String(d.id),
    d.time,
    d.host,
    String(d.serial),
    d.kind,
    d.source.vm?.name ?? '',
    d.source.vm?.uuid ?? '',
    d.model,
    d.permissive ? '1' : '0',
    d.perms.join(' '),
    d.tclass ?? '',
    d.source.context ?? '',
    d.source.comm ?? '',
    d.source.pid === null ? '' : String(d.source.pid),
    d.source.exe ?? '',
    d.target.context ?? '',
    d.target.path ?? d.target.name ?? '',
    d.target.vm?.name ?? '',
  ];
}

/** RFC 4180 quoting. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\n`;
}

/**
 * One RFC 4180 cell. A process name, an executable or a file name is chosen by whoever
 * caused the denial, and a spreadsheet runs a cell that starts with = + - @ (or a tab or
 * carriage return) as a formula: such a cell gets a leading ' (OWASP's advice on CSV
 * injection), so `=HYPERLINK(…)` arrives as text. A login shell's `-bash` reads `'-bash`.
 */
function csvCell(value: string): string {
  const c = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c;
}
