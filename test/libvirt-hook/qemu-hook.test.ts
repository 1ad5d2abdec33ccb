import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allocateLabel } from '../../allocation/allocate.js';
import { DEFAULT_LABEL_BASES } from '../../allocation/label-bases.js';
import { handleQemuHook, type QemuHookCall } from '../../libvirt-hook/qemu-hook.js';
import { listAllocations, listExpectedDisks } from '../../store/allocations.js';
import { fixture } from '../helpers/fixtures.js';
import { writeQcow2Header } from '../helpers/qcow2-image.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

function call(op: string, xmlFile: string, now: number, extra: Partial<QemuHookCall> = {}): QemuHookCall {
  const xml = fixture(`domains/${xmlFile}`);
  const subop = ['stopped', 'release'].includes(op) ? 'end' : 'begin';
  return {
    domain: 'x',
    op,
    subop,
    extra: '-',
    xml,
    host: 'hv1',
    now,
    bases: DEFAULT_LABEL_BASES,
    pidDir: join(t.dir, 'run'),
    ...extra,
  };
}

describe('handleQemuHook', () => {
  it('follows a VM through prepare, start, started, stopped and release', () => {
    expect(handleQemuHook(t.store, call('prepare', 'selinux-prepare-unlabelled.xml', 900)).action).toBe('ignored');
    expect(listAllocations(t.store)).toHaveLength(0);

    const started = handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 1000));
    expect(started).toMatchObject({ action: 'recorded', created: true });

    mkdirSync(join(t.dir, 'run'));
    writeFileSync(join(t.dir, 'run', 'web1.pid'), '4242\n');
    const again = handleQemuHook(t.store, call('started', 'selinux-three-disks.xml', 1100));
    expect(again).toMatchObject({ action: 'recorded', created: false });

    const [a] = listAllocations(t.store);
    expect(a).toMatchObject({
      name: 'web1',
      uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
      model: 'selinux',
      label: 'system_u:system_r:svirt_t:s0:c392,c662',
      imageLabel: 'system_u:object_r:svirt_image_t:s0:c392,c662',
      categories: 'c392,c662',
      source: 'hook',
      startedAt: 1000,
      endedAt: null,
      pid: 4242,
    });
    expect(listExpectedDisks(t.store, a?.id as number).map((d) => `${d.mode} ${d.path}`)).toEqual([
      'rw /var/lib/libvirt/images/web1.qcow2',
      'ro /var/lib/libvirt/images/install & tools.iso',
      'shared /dev/vg0/shared-data',
    ]);

    expect(handleQemuHook(t.store, call('stopped', 'selinux-three-disks.xml', 5000)).action).toBe('ended');
    expect(handleQemuHook(t.store, call('release', 'selinux-three-disks.xml', 5100)).action).toBe('ignored');
    expect(listAllocations(t.store)[0]?.endedAt).toBe(5000);
  });

  it('a reconnect adds the disks hot-plugged since the start; the listed ones keep their record', () => {
    handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 1000));
    const plugged = fixture('domains/selinux-three-disks.xml')
      .replace(
        "<source file='/var/lib/libvirt/images/web1.qcow2' index='3'/>",
        "<source file='/srv/moved/web1.qcow2'/>",
      )
      .replace(
        '</devices>',
        "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/scratch.img'/><target dev='vdd'/></disk></devices>",
      );
    const reconnect = handleQemuHook(t.store, call('reconnect', 'selinux-three-disks.xml', 2000, { xml: plugged }));
    expect(reconnect).toMatchObject({ action: 'recorded', created: false });
    const [a] = listAllocations(t.store);
    expect(listExpectedDisks(t.store, a?.id as number).map((d) => `${d.mode} ${d.path} ${d.expectedLabel}`)).toEqual([
      'rw /var/lib/libvirt/images/web1.qcow2 system_u:object_r:svirt_image_t:s0:c392,c662',
      'ro /var/lib/libvirt/images/install & tools.iso system_u:object_r:virt_content_t:s0',
      'shared /dev/vg0/shared-data system_u:object_r:svirt_image_t:s0',
      'rw /srv/moved/web1.qcow2 system_u:object_r:svirt_image_t:s0:c392,c662',
      'rw /var/lib/libvirt/images/scratch.img system_u:object_r:svirt_image_t:s0:c392,c662',
    ]);
  });

  it('a disk whose XML gives no backing chain gets it from the image header; an empty <backingStore/> means none', () => {
    const top = join(t.dir, 'top.qcow2');
    const base = join(t.dir, 'base.raw');
    writeFileSync(base, 'raw');
    writeQcow2Header(top, 'base.raw');
    const xml = (backing: string) =>
      fixture('domains/selinux-three-disks.xml').replace(
        "<source file='/var/lib/libvirt/images/web1.qcow2' index='3'/>",
        `<source file='${top}'/>${backing}`,
      );
    const open = () => listAllocations(t.store).find((a) => a.endedAt === null);
    const disks = () => listExpectedDisks(t.store, open()?.id as number);
    handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 1000, { xml: xml('') }));
    expect(disks().find((d) => d.path === base)).toEqual({
      path: base,
      mode: 'ro',
      expectedLabel: 'system_u:object_r:virt_content_t:s0',
      relabel: true,
    });
    handleQemuHook(t.store, call('stopped', 'selinux-three-disks.xml', 2000));
    handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 3000, { xml: xml('<backingStore/>') }));
    expect(open()?.startedAt).toBe(3000);
    expect(disks().map((d) => d.path)).toContain(top);
    expect(disks().map((d) => d.path)).not.toContain(base);
  });

  it('reads no header of a disk the XML calls raw, and leaves out a layer outside the image directory', () => {
    const images = join(t.dir, 'images');
    mkdirSync(images, { recursive: true });
    const victim = join(t.dir, 'host-secret');
    writeFileSync(victim, 'not a disk');
    const disk = join(images, 'guest.img');
    writeQcow2Header(disk, '../host-secret', 'raw');
    const xml = (driver: string) =>
      fixture('domains/selinux-three-disks.xml').replace(
        "<driver name='qemu' type='qcow2'/>\n      <source file='/var/lib/libvirt/images/web1.qcow2' index='3'/>",
        `<driver name='qemu' type='${driver}'/>\n      <source file='${disk}'/>`,
      );
    const open = () => listAllocations(t.store).find((a) => a.endedAt === null);
    const paths = () => listExpectedDisks(t.store, open()?.id as number).map((d) => d.path);
    for (const [at, driver] of [
      [1000, 'raw'],
      [3000, 'qcow2'],
    ] as const) {
      expect(xml(driver)).toContain(disk);
      handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', at, { xml: xml(driver) }));
      expect(paths()).toContain(disk);
      expect(paths()).not.toContain(victim);
      handleQemuHook(t.store, call('stopped', 'selinux-three-disks.xml', at + 1000));
    }
  });

  it('records AppArmor and unconfined guests', () => {
    handleQemuHook(t.store, call('start', 'apparmor.xml', 1000));
    handleQemuHook(t.store, call('start', 'seclabel-none.xml', 1000));
    const byName = Object.fromEntries(listAllocations(t.store).map((a) => [a.name, a]));
    expect(byName['ubuntu-desk']).toMatchObject({
      model: 'apparmor',
      label: 'libvirt-8a6d1c3e-57f2-4b43-9a1e-2f0c6b7d9e10',
      categories: '',
    });
    expect(byName.tiny).toMatchObject({ model: 'none', label: null });
  });

  it('ends a stale holder of the label libvirt just handed out (we missed its stop)', () => {
    allocateLabel(t.store, {
      uuid: '11111111-1111-1111-1111-111111111111',
      name: 'old',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label: 'system_u:system_r:svirt_t:s0:c392,c662',
      startedAt: 10,
    });
    handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 1000));
    const rows = listAllocations(t.store);
    expect(rows.map((r) => [r.name, r.endedAt])).toEqual([
      ['web1', null],
      ['old', 1000],
    ]);
  });

  it('a restart with a new label closes the old allocation and opens a new one', () => {
    handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 1000));
    const relabelled = fixture('domains/selinux-three-disks.xml').replaceAll('c392,c662', 'c1,c2');
    handleQemuHook(t.store, { ...call('start', 'selinux-three-disks.xml', 2000), xml: relabelled });
    expect(listAllocations(t.store).map((r) => [r.categories, r.endedAt])).toEqual([
      ['c1,c2', null],
      ['c392,c662', 2000],
    ]);
  });

  it('ends by name when the stop XML cannot be read', () => {
    handleQemuHook(t.store, call('start', 'selinux-three-disks.xml', 1000));
    const out = handleQemuHook(t.store, {
      ...call('stopped', 'selinux-three-disks.xml', 3000),
      xml: 'garbage',
      domain: 'web1',
    });
    expect(out.action).toBe('ended');
  });

  it('throws on unreadable XML at start (the CLI turns that into exit 0 and a log line)', () => {
    expect(() => handleQemuHook(t.store, call('start', 'broken-not-xml.xml', 1000))).toThrow(/not well-formed/);
  });
});
