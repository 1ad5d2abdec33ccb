/** ECS and CEF lines of a denial: the documented fields, and names chosen by a guest escaped. */

import { describe, expect, it } from 'vitest';
import type { DenialJson } from '../../core/denial-json.js';
import { denialCef, denialEcs } from '../../core/siem-formats.js';
import { SAMPLE_DENIAL } from '../helpers/sample-denial.js';

const denial: DenialJson = {
  ...SAMPLE_DENIAL,
  source: { ...SAMPLE_DENIAL.source, comm: 'qemu|kvm=x\\y' },
  target: { ...SAMPLE_DENIAL.target, path: '/var/lib/libvirt/images/db1 =new\nline.qcow2' },
};

describe('ECS', () => {
  it('fills the ECS fields it documents and keeps ours under svirt_audit', () => {
    const e = denialEcs(denial, '0.1.0') as Record<string, Record<string, unknown>>;
    expect(e['@timestamp']).toBe('2026-11-21T10:31:00.123Z');
    expect(e.ecs).toEqual({ version: '8.11.0' });
    expect(e.event).toMatchObject({
      kind: 'event',
      category: ['file', 'intrusion_detection'],
      type: ['access', 'denied'],
      outcome: 'failure',
      action: 'selinux-avc-denied',
      dataset: 'svirt_audit.denial',
      id: '42',
      severity: 1,
      reason: 'cross-vm',
    });
    expect(e.host).toEqual({ name: 'hv1' });
    expect(e.process).toEqual({ pid: 4101, name: 'qemu|kvm=x\\y', executable: '/usr/libexec/qemu-kvm' });
    expect(e.file).toEqual({ path: denial.target.path, name: 'db1.qcow2', inode: '1234' });
    expect(e.svirt_audit).toMatchObject({
      kind: 'cross-vm',
      perms: ['read', 'write'],
      source: { vm: { name: 'web1' } },
      target: { vm: { name: 'db1' } },
    });
    // One line of JSON whatever the names hold.
    expect(JSON.stringify(e)).not.toContain('\n');
  });

  it('classes map to ECS categories', () => {
    const category = (tclass: string | null) =>
      (denialEcs({ ...denial, tclass }, '0') as { event: { category: string[] } }).event.category;
    expect(category('dir')).toEqual(['file', 'intrusion_detection']);
    expect(category('tcp_socket')).toEqual(['network', 'intrusion_detection']);
    expect(category('process')).toEqual(['process', 'intrusion_detection']);
    expect(category('capability')).toEqual(['host', 'intrusion_detection']);
  });
});

describe('CEF', () => {
  it('writes the header and every extension field, escaped as CEF says', () => {
    const line = denialCef(denial, '0.1.0');
    expect(line).not.toContain('\n');
    // Seven header fields (pipes escaped in them), then the extension, where a pipe is plain.
    const parts: string[] = [];
    let rest = line;
    for (let i = 0; i < 7; i++) {
      const at = rest.search(/(?<!\\)\|/);
      parts.push(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
    const [cef, vendor, product, version, signature, name, severity] = parts;
    const extension = rest;
    expect([cef, vendor, product, version, signature, name, severity]).toEqual([
      'CEF:0',
      'svirt-audit',
      'svirt-audit',
      '0.1.0',
      'cross-vm',
      'cross-vm: read,write file',
      '10',
    ]);
    // Split the extension on the spaces before a key, then unescape each value.
    const fields = Object.fromEntries(
      (extension as string).split(/ (?=\w+=)/).map((kv) => {
        const at = kv.search(/(?<!\\)=/);
        return [
          kv.slice(0, at),
          kv
            .slice(at + 1)
            .replace(/\\([\\=])/g, '$1')
            .replace(/\\n/g, '\n'),
        ];
      }),
    );
    expect(fields).toEqual({
      rt: String(Date.parse('2026-11-21T10:31:00.123Z')),
      dvchost: 'hv1',
      act: 'denied',
      outcome: 'failure',
      spid: '4101',
      sproc: 'qemu|kvm=x\\y',
      filePath: '/var/lib/libvirt/images/db1 =new\nline.qcow2',
      fname: 'db1.qcow2',
      cs1Label: 'sourceVm',
      cs1: 'web1 (4dea22b3-1d52-d8f3-2516-782e98ab3fa0)',
      cs2Label: 'targetVm',
      cs2: 'db1 (c7a5fdbd-cdaf-9455-926a-d65c16db1809)',
      cs3Label: 'sourceContext',
      cs3: 'system_u:system_r:svirt_t:s0:c101,c202',
      cs4Label: 'targetContext',
      cs4: 'system_u:object_r:svirt_image_t:s0:c303,c404',
      cs5Label: 'tclass',
      cs5: 'file',
      cn1Label: 'denialId',
      cn1: '42',
    });
  });

  it('a pipe in a header field is escaped; severity follows the kind', () => {
    const line = denialCef({ ...denial, kind: 'policy', perms: ['read|write'] }, '1|2');
    expect(line).toMatch(/^CEF:0\|svirt-audit\|svirt-audit\|1\\\|2\|policy\|policy: read\\\|write file\|4\|/);
  });
});
