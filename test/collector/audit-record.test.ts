import { describe, expect, it } from 'vitest';
import { AuditRecord, parseAuditRecords, type UnparsedLine } from '../../collector/audit-record.js';

function one(line: string): AuditRecord {
  const items = parseAuditRecords(line);
  expect(items).toHaveLength(1);
  expect(items[0]).toBeInstanceOf(AuditRecord);
  return items[0] as AuditRecord;
}

const AVC =
  'type=AVC msg=audit(1663373695.646:89): avc:  denied  { read write } for  pid=1377 comm="qemu-system-x86" name="db1.qcow2" dev="dm-1" ino=12981 scontext=system_u:system_r:svirt_t:s0:c305,c965 tcontext=system_u:object_r:svirt_image_t:s0:c171,c247 tclass=file permissive=0';

describe('parseAuditLine: headers', () => {
  it.each([
    { name: 'raw auditd', line: AVC, node: null, type: 'AVC', time: 1663373695646, serial: 89 },
    { name: 'forwarded node=', line: `node=hv1 ${AVC}`, node: 'hv1', type: 'AVC', time: 1663373695646, serial: 89 },
    { name: 'old host=', line: `host=hv2 ${AVC}`, node: 'hv2', type: 'AVC', time: 1663373695646, serial: 89 },
    {
      name: 'dmesg',
      line: '[145094.563996] audit: type=1400 audit(1525882457.360:1634): apparmor="DENIED" operation="open" profile="libvirt-de40bc0e-7c1e-44e1-b61d-29aa9801a8dc" name="/run/udev/data/+usb:1-1.4:1.1" pid=11029 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=0',
      node: null,
      type: 'AVC',
      time: 1525882457360,
      serial: 1634,
    },
    {
      name: 'syslog kernel line',
      line: 'Dec 10 14:26:34 vm03 kernel: [  135.400479] audit: type=1400 audit(1481397994.380:23): apparmor="DENIED" operation="open" profile="libvirt-2f647e4b-aff2-4228-bbcd-f0484fe2bf77" name="/run/udev/data/c189:1" pid=1631 comm="qemu-system-x86"',
      node: null,
      type: 'AVC',
      time: 1481397994380,
      serial: 23,
    },
    {
      name: 'numeric user type',
      line: "type=1107 msg=audit(1.000:2): pid=1 msg='x=y'",
      node: null,
      type: 'USER_AVC',
      time: 1000,
      serial: 2,
    },
    {
      name: 'UNKNOWN[n] we can name',
      line: 'type=UNKNOWN[1334] msg=audit(1.5:3): prog-id=7 op=LOAD',
      node: null,
      type: 'BPF',
      time: 1500,
      serial: 3,
    },
    {
      name: 'UNKNOWN[n] we cannot name',
      line: 'type=UNKNOWN[9999] msg=audit(1.500:3): x=1',
      node: null,
      type: 'UNKNOWN[9999]',
      time: 1500,
      serial: 3,
    },
    {
      name: 'name we do not know',
      line: 'type=FUTURE_THING msg=audit(1.500:3): x=1',
      node: null,
      type: 'FUTURE_THING',
      time: 1500,
      serial: 3,
    },
    {
      name: 'old DAEMON form without the colon',
      line: 'type=DAEMON_CONFIG msg=audit(1490239800.477:34) config changed, auid=0 pid=1512 res=success',
      node: null,
      type: 'DAEMON_CONFIG',
      time: 1490239800477,
      serial: 34,
    },
    { name: 'leading blanks (YAML)', line: `    ${AVC}`, node: null, type: 'AVC', time: 1663373695646, serial: 89 },
    { name: 'CRLF and trailing blanks', line: `${AVC}  \r`, node: null, type: 'AVC', time: 1663373695646, serial: 89 },
    {
      name: 'serial past 2^32',
      line: 'type=EOE msg=audit(1.000:4294967295):',
      node: null,
      type: 'EOE',
      time: 1000,
      serial: 4294967295,
    },
  ])('$name', ({ line, node, type, time, serial }) => {
    const r = one(line);
    expect({ node: r.node, type: r.type, time: r.time, serial: r.serial }).toEqual({ node, type, time, serial });
    expect(r.raw).toBe(line.replace(/\s+$/, ''));
  });

  it('journald form without an audit() header takes the syslog time and is its own event', () => {
    const r = one(
      '2023-05-30T20:54:39.770352+08:00 localhost audit[65317]: AVC avc: denied { read } for pid=65317 comm="qemu-system-x86" scontext=system_u:system_r:svirt_t:s0:c392,c662 tcontext=unconfined_u:object_r:admin_home_t:s0 tclass=file permissive=0',
    );
    expect(r.type).toBe('AVC');
    expect(r.synthetic).toBe(true);
    expect(r.time).toBe(Date.parse('2023-05-30T12:54:39.770Z'));
    expect(r.fields.avc).toEqual({ result: 'denied', perms: ['read'] });
  });

  it('splits two records on one line; the second inherits the host', () => {
    const items = parseAuditRecords(
      'host=dhcppc2 type=AVC msg=audit(1216729188.853:241): avc:  denied  { read } for pid=14066 tclass=blk_file host=dhcppc2 type=SYSCALL msg=audit(1216729188.853:241): arch=c000003e syscall=2 success=no',
    ) as AuditRecord[];
    expect(items.map((r) => [r.type, r.node, r.serial])).toEqual([
      ['AVC', 'dhcppc2', 241],
      ['SYSCALL', 'dhcppc2', 241],
    ]);
    expect(items[0]?.raw.endsWith('tclass=blk_file')).toBe(true);
    expect(items[1]?.fields.get('syscall')).toBe('2');
  });

  it.each([
    { line: '# a comment', reason: 'not-audit' },
    { line: 'Jul 24 12:00:00 host kernel: eth0: link up', reason: 'not-audit' },
    {
      line: 'type=AVC msg=audit(12799========================8288.415:39): apparmor="DENIED"',
      reason: 'malformed-header',
    },
    { line: 'type=AVC msg=audit(1663373695.6', reason: 'malformed-header' },
    { line: 'type=AVC', reason: 'malformed-header' },
    { line: 'type=AVC msg=audit(1.000:5)garbage', reason: 'malformed-header' },
    { line: 'x'.repeat(2_000_000), reason: 'too-long' },
  ])('refuses $reason: %#', ({ line, reason }) => {
    const items = parseAuditRecords(line);
    expect(items).toHaveLength(1);
    expect((items[0] as UnparsedLine).reason).toBe(reason);
  });

  it.each(['', '   ', '----', 'time->Fri Sep 16 22:51:23 2022'])('skips %j (not a record, not garbage)', (line) => {
    const items = parseAuditRecords(line);
    expect(items.filter((i) => i.kind !== 'separator')).toEqual([]);
  });
});

describe('record bodies', () => {
  it('reads the AVC prefix and the fields after it', () => {
    const f = one(AVC).fields;
    expect(f.avc).toEqual({ result: 'denied', perms: ['read', 'write'] });
    expect(f.get('comm')).toBe('qemu-system-x86');
    expect(f.get('scontext')).toBe('system_u:system_r:svirt_t:s0:c305,c965');
    expect(f.int('ino')).toBe(12981);
    expect(f.warnings).toEqual([]);
  });

  it('decodes hex-encoded escaped fields and keeps quoted ones as written', () => {
    const f = one(
      'type=PATH msg=audit(1.000:1): item=0 name=2F746D702F6D7920696D616765 inode=5 obj=system_u:object_r:tmp_t:s0',
    ).fields;
    expect(f.get('name')).toBe('/tmp/my image');
    expect(f.hexKeys.has('name')).toBe(true);
    const q = one('type=PATH msg=audit(1.000:1): item=0 name="ABCDEF" inode=5').fields;
    expect(q.get('name')).toBe('ABCDEF');
  });

  it('splits a hex proctitle into its NUL-separated arguments', () => {
    const hex = Buffer.from('/usr/bin/qemu-system-x86_64\0-name\0guest=web1').toString('hex').toUpperCase();
    const f = one(`type=PROCTITLE msg=audit(1.000:1): proctitle=${hex}`).fields;
    expect(f.get('proctitle')?.split('\0')).toEqual(['/usr/bin/qemu-system-x86_64', '-name', 'guest=web1']);
  });

  it("parses user-space msg='…' recursively, including libvirt's hex vm=", () => {
    const vm = Buffer.from('my web vm').toString('hex').toUpperCase();
    const f = one(
      `type=VIRT_MACHINE_ID msg=audit(1.000:1): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:virtd_t:s0-s0:c0.c1023 msg='virt=kvm vm=${vm} uuid=4dea22b3-1d52-d8f3-2516-782e98ab3fa0 vm-ctx=system_u:system_r:svirt_t:s0:c392,c662 img-ctx=system_u:object_r:svirt_image_t:s0:c392,c662 model=selinux exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`,
    ).fields;
    expect(f.get('pid')).toBe('1');
    expect(f.nested?.get('vm')).toBe('my web vm');
    expect(f.nested?.get('vm-ctx')).toBe('system_u:system_r:svirt_t:s0:c392,c662');
    expect(f.nested?.get('exe')).toBe('/usr/sbin/libvirtd');
  });

  it('keeps ENRICHED translations apart from the raw values', () => {
    const f = one(
      'type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 uid=0 auid=1000\x1dARCH=x86_64 SYSCALL=execve UID="root" AUID="alice"',
    ).fields;
    expect(f.get('auid')).toBe('1000');
    expect(f.enriched?.get('AUID')).toBe('alice');
    expect(f.has('AUID')).toBe(false);
  });

  it('(null), ?, duplicate keys and keys with a space', () => {
    const f = one(
      'type=LOGIN msg=audit(1.000:1): pid=1 uid=0 old auid=4294967295 new auid=1000 key=(null) tty=? pid=2',
    ).fields;
    expect(f.has('key')).toBe(true);
    expect(f.get('key')).toBeUndefined();
    expect(f.get('tty')).toBe('?');
    expect(f.get('old auid')).toBe('4294967295');
    expect(f.get('new auid')).toBe('1000');
    expect(f.get('pid')).toBe('1');
    expect(f.warnings).toEqual(['duplicate field pid; the first is kept']);
  });

  it('a line cut short inside a value or the permission set still yields a record, with a warning', () => {
    const cutValue = one('type=AVC msg=audit(1.000:1): avc:  denied  { read } for  pid=5 comm="qemu-sys');
    expect(cutValue.fields.get('comm')).toBe('qemu-sys');
    expect(cutValue.fields.warnings[0]).toMatch(/not closed/);
    const cutPerms = one('type=AVC msg=audit(1.000:1): avc:  denied  { read wri');
    expect(cutPerms.fields.avc?.perms).toEqual(['read', 'wri']);
    expect(cutPerms.fields.warnings[0]).toMatch(/cut short/);
  });
});
