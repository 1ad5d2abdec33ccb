/**
 * Our ECS documents checked against Elastic's own field definitions (`EcsFlat` of the
 * @elastic/ecs package, generated from ecs_flat.yml of the ECS version we declare): every
 * field we fill outside our namespace exists in ECS, has a value of its type, an allowed
 * value where ECS lists them (the categorization fields), an array where ECS says so, and
 * each `event.type` is one ECS expects for one of our `event.category` values.
 */

import { EcsFlat, EcsVersion } from '@elastic/ecs';
import { describe, expect, it } from 'vitest';
import type { DenialJson } from '../../core/denial-json.js';
import { DENIAL_KINDS } from '../../core/denial-kind.js';
import { denialEcs, ECS_VERSION } from '../../core/siem-formats.js';
import { SAMPLE_DENIAL } from '../helpers/sample-denial.js';

interface FieldDefinition {
  type: string;
  normalize: readonly string[];
  allowed_values?: readonly { name: string; expected_event_types?: readonly string[] }[];
}
const definitions = EcsFlat as unknown as Record<string, FieldDefinition>;

/** Flattened dotted names to values; arrays are leaves (ECS arrays are of one field). */
function flatten(doc: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(doc).flatMap(([key, v]) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? flatten(v as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, v] as [string, unknown]],
  );
}

const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Does one value fit an ECS field type? */
function fitsType(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'constant_keyword':
    case 'wildcard':
    case 'match_only_text':
    case 'text':
      return typeof v === 'string';
    case 'long':
    case 'integer':
    case 'short':
    case 'byte':
      return Number.isSafeInteger(v);
    case 'float':
    case 'scaled_float':
    case 'double':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return typeof v === 'string' && ISO_DATE.test(v);
    case 'ip':
      return typeof v === 'string' && /^[0-9a-f.:]+$/i.test(v);
    default:
      return false;
  }
}

/** Every way our documents' ECS fields break the definitions; empty when they conform. */
function violations(doc: Record<string, unknown>): string[] {
  const found: string[] = [];
  for (const [name, v] of flatten(doc)) {
    if (name.startsWith('svirt_audit.')) continue; // ours, documented in docs/siem.md
    const def = definitions[name];
    if (!def) {
      found.push(`${name} is not an ECS field`);
      continue;
    }
    const values = Array.isArray(v) ? v : [v];
    if (def.normalize.includes('array') !== Array.isArray(v))
      found.push(`${name} ${Array.isArray(v) ? 'is' : 'is not'} an array, ECS says otherwise`);
    for (const one of values) {
      if (!fitsType(def.type, one)) found.push(`${name}=${JSON.stringify(one)} is not of ECS type ${def.type}`);
      if (def.allowed_values && !def.allowed_values.some((a) => a.name === one))
        found.push(`${name}=${JSON.stringify(one)} is not an allowed value`);
    }
  }
  const event = doc.event as { category: string | string[]; type: string | string[] };
  const categories = definitions['event.category']?.allowed_values ?? [];
  const ours = [event.category].flat();
  for (const type of [event.type].flat()) {
    const expected = ours.some((c) => categories.find((a) => a.name === c)?.expected_event_types?.includes(type));
    if (!expected) found.push(`event.type ${type} is expected for none of the categories ${ours.join(', ')}`);
  }
  return found;
}

const base: DenialJson = { ...SAMPLE_DENIAL, id: 7, perms: ['read'] };

describe('ECS documents conform to the ECS field definitions', () => {
  it('we declare the ECS version whose definitions we check against', () => {
    expect(ECS_VERSION).toBe(EcsVersion);
  });

  it('the checker finds a field ECS lacks, a wrong type, a value ECS does not allow and a missing array', () => {
    expect(
      violations({
        '@timestamp': 'yesterday',
        event: { kind: 'denial', category: 'file', type: ['denied'] },
        host: { nickname: 'x' },
        process: { pid: '12' },
      }),
    ).toEqual([
      '@timestamp="yesterday" is not of ECS type date',
      'event.kind="denial" is not an allowed value',
      'event.category is not an array, ECS says otherwise',
      'host.nickname is not an ECS field',
      'process.pid="12" is not of ECS type long',
      'event.type denied is expected for none of the categories file',
    ]);
  });

  const classes = [null, 'file', 'dir', 'chr_file', 'tcp_socket', 'unix_stream_socket', 'process', 'capability'];
  for (const tclass of classes)
    for (const kind of DENIAL_KINDS)
      it(`a ${kind} denial on ${tclass ?? 'no class'}`, () => {
        const doc = denialEcs({ ...base, kind, tclass }, '1.2.3');
        expect(violations(doc)).toEqual([]);
      });

  it('an AppArmor denial without a path, pid or VMs', () => {
    const doc = denialEcs(
      {
        ...base,
        model: 'apparmor',
        kind: 'apparmor-profile',
        source: { ...base.source, pid: null, comm: null, exe: null, vm: null },
        target: { ...base.target, path: null, name: null, inode: null, vm: null },
        apparmor: {
          profile: 'libvirt-4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
          operation: 'open',
          requestedMask: 'r',
          deniedMask: 'r',
        } as DenialJson['apparmor'],
      },
      '1.2.3',
    );
    expect(violations(doc)).toEqual([]);
  });
});
