import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../collector/assemble.js';
import { AuditStream } from '../../collector/audit-stream.js';
import type { EventFindings } from '../../collector/denial.js';

function findings(text: string): { event: AuditEvent; findings: EventFindings }[] {
  const out: { event: AuditEvent; findings: EventFindings }[] = [];
  const s = new AuditStream({ event: (event, f) => out.push({ event, findings: f }), unparsed: () => undefined });
  s.push(Buffer.from(text));
  s.end();
  return out;
}

const hex = (s: string) => Buffer.from(s).toString('hex').toUpperCase();

describe('denials from events', () => {
  it('a cross-VM svirt AVC, enriched from SYSCALL, CWD, PATH and PROCTITLE', () => {
    const log = [
      'type=AVC msg=audit(1763719200.123:238): avc:  denied  { read write } for  pid=11029 comm="qemu-kvm" name="db1.qcow2" dev="dm-0" ino=4242 scontext=system_u:system_r:svirt_t:s0:c392,c662 tcontext=system_u:object_r:svirt_image_t:s0:c171,c247 tclass=file permissive=0',
      'type=SYSCALL msg=audit(1763719200.123:238): arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7f items=1 ppid=1 pid=11029 auid=4294967295 uid=107 gid=107 comm="qemu-kvm" exe="/usr/libexec/qemu-kvm" subj=system_u:system_r:svirt_t:s0:c392,c662 key=(null)',
      'type=CWD msg=audit(1763719200.123:238): cwd="/"',
      'type=PATH msg=audit(1763719200.123:238): item=0 name="var/lib/libvirt/images/db1.qcow2" inode=4242 dev=fd:00 mode=0100600 obj=system_u:object_r:svirt_image_t:s0:c171,c247 nametype=NORMAL',
      `type=PROCTITLE msg=audit(1763719200.123:238): proctitle=${hex('/usr/libexec/qemu-kvm\0-name\0guest=web1')}`,
      'type=EOE msg=audit(1763719200.123:238):',
    ].join('\n');
    const [only] = findings(log);
    expect(only?.findings.denials).toEqual([
      {
        model: 'selinux',
        recordType: 'AVC',
        granted: false,
        permissive: false,
        perms: ['read', 'write'],
        tclass: 'file',
        source: {
          context: 'system_u:system_r:svirt_t:s0:c392,c662',
          type: 'svirt_t',
          categories: 'c392,c662',
          pid: 11029,
          comm: 'qemu-kvm',
          exe: '/usr/libexec/qemu-kvm',
        },
        target: {
          context: 'system_u:object_r:svirt_image_t:s0:c171,c247',
          type: 'svirt_image_t',
          categories: 'c171,c247',
          path: '/var/lib/libvirt/images/db1.qcow2',
          name: 'db1.qcow2',
          dev: 'dm-0',
          inode: 4242,
        },
        apparmor: null,
        syscall: { syscall: 257, success: false, exit: -13, auid: 4294967295, uid: 107 },
        proctitle: '/usr/libexec/qemu-kvm -name guest=web1',
      },
    ]);
  });

  it('several AVCs in one event are several denials; granted and permissive are marked', () => {
    const log = [
      'type=AVC msg=audit(1.000:5): avc:  denied  { write } for  pid=1 comm="swtpm" scontext=system_u:system_r:svirt_t:s0:c38,c260 tcontext=system_u:object_r:container_file_t:s0 tclass=dir permissive=1',
      'type=AVC msg=audit(1.000:5): avc:  granted  { execmem } for  pid=1 comm="qemu" scontext=system_u:system_r:svirt_tcg_t:s0:c5.c6 tcontext=system_u:system_r:svirt_tcg_t:s0:c5.c6 tclass=process',
      'type=EOE msg=audit(1.000:5):',
    ].join('\n');
    const denials = findings(log)[0]?.findings.denials ?? [];
    expect(denials.map((d) => [d.perms.join(), d.permissive, d.granted, d.source.categories])).toEqual([
      ['write', true, false, 'c38,c260'],
      ['execmem', false, true, 'c5,c6'],
    ]);
  });

  it("AppArmor: libvirt's per-VM profile, masks, a //child profile, and ALLOWED as permissive", () => {
    const log = [
      '[145094.563996] audit: type=1400 audit(1525882457.360:1634): apparmor="DENIED" operation="open" profile="libvirt-de40bc0e-7c1e-44e1-b61d-29aa9801a8dc" name="/run/udev/data/+usb:1-1.4:1.1" pid=11029 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=0',
      'type=AVC msg=audit(1525882458.000:1635): apparmor="ALLOWED" operation="exec" profile="libvirt-de40bc0e-7c1e-44e1-b61d-29aa9801a8dc//qemu_bridge_helper" name="/usr/lib/qemu/qemu-bridge-helper" pid=12 comm="qemu" requested_mask="x" denied_mask="x" fsuid=0 ouid=0',
      'type=AVC msg=audit(1525882459.000:1636): apparmor="STATUS" operation="profile_remove" profile="unconfined" name="libvirt-de40bc0e-7c1e-44e1-b61d-29aa9801a8dc" pid=4317 comm="apparmor_parser"',
    ].join('\n');
    const denials = findings(log).flatMap((f) => f.findings.denials);
    expect(denials).toHaveLength(2);
    expect(denials[0]).toMatchObject({
      model: 'apparmor',
      permissive: false,
      perms: ['read'],
      source: { context: 'libvirt-de40bc0e-7c1e-44e1-b61d-29aa9801a8dc', pid: 11029, comm: 'qemu-system-x86' },
      target: { path: '/run/udev/data/+usb:1-1.4:1.1' },
      apparmor: {
        profile: 'libvirt-de40bc0e-7c1e-44e1-b61d-29aa9801a8dc',
        child: null,
        operation: 'open',
        deniedMask: 'r',
        fsuid: 64055,
        ouid: 0,
      },
    });
    expect(denials[1]).toMatchObject({ permissive: true, perms: ['exec'], apparmor: { child: 'qemu_bridge_helper' } });
  });

  it('USER_AVC from dbus is a denial; a policyload notice is not', () => {
    const log = [
      'type=USER_AVC msg=audit(1.000:7): pid=854 uid=81 auid=4294967295 ses=4294967295 subj=system_u:system_r:system_dbusd_t:s0-s0:c0.c1023 msg=\'avc:  denied  { send_msg } for msgtype=method_call interface=org.freedesktop.machine1.Manager member=ListMachines dest=org.freedesktop.machine1 spid=1 tpid=2 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:system_r:systemd_machined_t:s0 tclass=dbus permissive=0 exe="/usr/bin/dbus-daemon" sauid=81 hostname=? addr=? terminal=?\'',
      'type=USER_AVC msg=audit(1.000:8): pid=854 uid=81 msg=\'avc:  received policyload notice (seqno=2)  exe="/usr/bin/dbus-daemon"\'',
    ].join('\n');
    const denials = findings(log).flatMap((f) => f.findings.denials);
    expect(denials.map((d) => [d.recordType, d.perms.join(), d.tclass, d.source.categories])).toEqual([
      ['USER_AVC', 'send_msg', 'dbus', 'c1,c2'],
    ]);
  });

  it("facts: libvirt's VIRT_MACHINE_ID, VIRT_CONTROL, VIRT_RESOURCE; MAC_STATUS; SELINUX_ERR", () => {
    const uuid = '4dea22b3-1d52-d8f3-2516-782e98ab3fa0';
    const log = [
      `type=VIRT_MACHINE_ID msg=audit(1.000:10): pid=900 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:virtd_t:s0-s0:c0.c1023 msg='virt=kvm vm="web1" uuid=${uuid} vm-ctx=system_u:system_r:svirt_t:s0:c392,c662 img-ctx=system_u:object_r:svirt_image_t:s0:c392,c662 model=selinux exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`,
      `type=VIRT_CONTROL msg=audit(1.000:11): pid=900 uid=0 msg='virt=kvm op=start reason=booted vm="web1" uuid=${uuid} vm-pid=11029 exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`,
      `type=VIRT_RESOURCE msg=audit(1.000:12): pid=900 uid=0 msg='virt=kvm resrc=disk reason=start vm="web1" uuid=${uuid} old-disk="?" new-disk=${hex('/var/lib/libvirt/images/web 1.qcow2')} exe="/usr/sbin/libvirtd" hostname=? addr=? terminal=? res=success'`,
      'type=MAC_STATUS msg=audit(1.000:13): enforcing=0 old_enforcing=1 auid=0 ses=1 enabled=1 old-enabled=1 lsm=selinux res=1',
      'type=EOE msg=audit(1.000:13):',
      'type=SELINUX_ERR msg=audit(1.000:14): op=security_compute_sid invalid_context="system_u:system_r:svirt_t:s0:c1,c2" scontext=system_u:system_r:virtd_t:s0 tcontext=system_u:object_r:qemu_exec_t:s0 tclass=process',
    ].join('\n');
    const facts = findings(log).flatMap((f) => f.findings.facts);
    expect(facts).toEqual([
      {
        kind: 'virt-machine-id',
        vmName: 'web1',
        uuid,
        vmContext: 'system_u:system_r:svirt_t:s0:c392,c662',
        imageContext: 'system_u:object_r:svirt_image_t:s0:c392,c662',
        model: 'selinux',
        pid: 900,
        success: true,
      },
      { kind: 'virt-control', op: 'start', reason: 'booted', vmName: 'web1', uuid, vmPid: 11029, success: true },
      {
        kind: 'virt-resource',
        resource: 'disk',
        reason: 'start',
        vmName: 'web1',
        uuid,
        oldValue: '?',
        newValue: '/var/lib/libvirt/images/web 1.qcow2',
        success: true,
      },
      { kind: 'mac-status', enforcing: false, oldEnforcing: true, enabled: true, lsm: 'selinux' },
      {
        kind: 'selinux-error',
        recordType: 'SELINUX_ERR',
        op: 'security_compute_sid',
        invalidContext: 'system_u:system_r:svirt_t:s0:c1,c2',
        scontext: 'system_u:system_r:virtd_t:s0',
        tcontext: 'system_u:object_r:qemu_exec_t:s0',
        tclass: 'process',
      },
    ]);
  });

  it('events without a record we care about are dropped before their bodies are parsed', () => {
    const out = findings('type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59\ntype=EOE msg=audit(1.000:1):');
    expect(out).toEqual([]);
  });
});
