import { describe, expect, it } from 'vitest';
import { domainConfinement, expectedDisks, parseDomainXml } from '../../libvirt-hook/domain-xml.js';
import { DEFAULT_LABEL_BASES } from '../../allocation/label-bases.js';
import { fixture } from '../helpers/fixtures.js';

describe('parseDomainXml', () => {
  it('reads identity, seclabels and disks of a live SELinux guest with three local disks', () => {
    const def = parseDomainXml(fixture('domains/selinux-three-disks.xml'));
    expect(def.name).toBe('web1');
    expect(def.uuid).toBe('4dea22b3-1d52-d8f3-2516-782e98ab3fa0');
    expect(def.seclabels.map((s) => s.model)).toEqual(['selinux', 'dac']);
    const conf = domainConfinement(def);
    expect(conf.model).toBe('selinux');
    expect(conf.seclabel?.label).toBe('system_u:system_r:svirt_t:s0:c392,c662');
    expect(expectedDisks(def, conf, DEFAULT_LABEL_BASES)).toEqual([
      {
        path: '/var/lib/libvirt/images/web1.qcow2',
        mode: 'rw',
        expectedLabel: 'system_u:object_r:svirt_image_t:s0:c392,c662',
        relabel: true,
      },
      {
        path: '/var/lib/libvirt/images/install & tools.iso',
        mode: 'ro',
        expectedLabel: 'system_u:object_r:virt_content_t:s0',
        relabel: true,
      },
      {
        path: '/dev/vg0/shared-data',
        mode: 'shared',
        expectedLabel: 'system_u:object_r:svirt_image_t:s0',
        relabel: true,
      },
    ]);
  });

  it("honours a disk's relabel='no' and its own label", () => {
    const def = parseDomainXml(fixture('domains/selinux-tcg-relabel-no-disk.xml'));
    const conf = domainConfinement(def);
    expect(conf.seclabel?.label).toContain('svirt_tcg_t');
    expect(expectedDisks(def, conf, DEFAULT_LABEL_BASES)).toEqual([
      { path: '/srv/nfs/builder.qcow2', mode: 'rw', expectedLabel: null, relabel: false },
      {
        path: '/var/lib/libvirt/images/scratch.img',
        mode: 'rw',
        expectedLabel: 'system_u:object_r:svirt_image_t:s0:c1,c2',
        relabel: true,
      },
    ]);
  });

  it('lists the layers of backing chains read-only with the content label, a shared base once', () => {
    const def = parseDomainXml(fixture('domains/selinux-backing-chains.xml'));
    expect(def.disks.map((d) => d.backing.map((layer) => layer.path))).toEqual([
      ['/var/lib/libvirt/images/layered-snap.qcow2', '/var/lib/libvirt/images/fedora-base.qcow2'],
      ['/var/lib/libvirt/images/fedora-base.qcow2'],
      [],
    ]);
    const content = 'system_u:object_r:virt_content_t:s0';
    const image = 'system_u:object_r:svirt_image_t:s0:c392,c662';
    expect(expectedDisks(def, domainConfinement(def), DEFAULT_LABEL_BASES)).toEqual([
      { path: '/var/lib/libvirt/images/layered.qcow2', mode: 'rw', expectedLabel: image, relabel: true },
      { path: '/var/lib/libvirt/images/layered-snap.qcow2', mode: 'ro', expectedLabel: content, relabel: true },
      { path: '/var/lib/libvirt/images/fedora-base.qcow2', mode: 'ro', expectedLabel: content, relabel: true },
      { path: '/srv/nfs/scratch.qcow2', mode: 'rw', expectedLabel: null, relabel: false },
      { path: '/var/lib/libvirt/images/cache.qcow2', mode: 'rw', expectedLabel: image, relabel: true },
    ]);
  });

  it("a backing layer takes its own seclabel, else its disk's (relabel='no' keeps its label too)", () => {
    const def = parseDomainXml(`<domain><name>nfs</name><uuid>6a0c3b52-8d1e-4f7a-b9c2-0e5d4f3a2b1c</uuid>
      <devices><disk type='file' device='disk'>
        <source file='/srv/nfs/top.qcow2'><seclabel model='selinux' relabel='no'/></source>
        <backingStore type='file'><source file='/srv/nfs/base.qcow2'/>
          <backingStore type='file'><source file='/srv/golden.qcow2'>
              <seclabel model='selinux' relabel='yes'><label>system_u:object_r:virt_golden_t:s0</label></seclabel>
            </source><backingStore/></backingStore>
        </backingStore>
      </disk></devices>
      <seclabel type='dynamic' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c1,c2</label>
        <imagelabel>system_u:object_r:svirt_image_t:s0:c1,c2</imagelabel></seclabel></domain>`);
    expect(expectedDisks(def, domainConfinement(def), DEFAULT_LABEL_BASES)).toEqual([
      { path: '/srv/nfs/top.qcow2', mode: 'rw', expectedLabel: null, relabel: false },
      { path: '/srv/nfs/base.qcow2', mode: 'ro', expectedLabel: null, relabel: false },
      { path: '/srv/golden.qcow2', mode: 'ro', expectedLabel: 'system_u:object_r:virt_golden_t:s0', relabel: true },
    ]);
    // The disk's own seclabel stays the disk's: the layer's did not leak into it.
    expect(def.disks[0]?.seclabels).toEqual([{ model: 'selinux', relabel: false, label: undefined }]);
  });

  it('a chain the XML does not give is read through chainOf; an empty <backingStore/> means none', () => {
    const xml = (backing: string) =>
      parseDomainXml(`<domain><name>a</name><uuid>6a0c3b52-8d1e-4f7a-b9c2-0e5d4f3a2b1c</uuid>
        <devices><disk type='file' device='disk'><source file='/i/top.qcow2'/>${backing}</disk></devices></domain>`);
    const chainOf = (path: string) => (path === '/i/top.qcow2' ? ['/i/base.qcow2'] : []);
    const paths = (def: ReturnType<typeof parseDomainXml>) =>
      expectedDisks(def, domainConfinement(def), DEFAULT_LABEL_BASES, chainOf).map((d) => d.path);
    expect(paths(xml(''))).toEqual(['/i/top.qcow2', '/i/base.qcow2']);
    expect(paths(xml('<backingStore/>'))).toEqual(['/i/top.qcow2']);
  });

  it.each([
    { file: 'apparmor.xml', model: 'apparmor', disks: 2 },
    { file: 'seclabel-none.xml', model: 'none', disks: 1 },
    { file: 'no-seclabel.xml', model: 'none', disks: 0 },
  ])('$file is confined by $model', ({ file, model, disks }) => {
    const def = parseDomainXml(fixture(`domains/${file}`));
    const conf = domainConfinement(def);
    expect(conf.model).toBe(model);
    const expected = expectedDisks(def, conf, DEFAULT_LABEL_BASES);
    expect(expected).toHaveLength(disks);
    expect(expected.every((d) => d.expectedLabel === null && !d.relabel)).toBe(true);
  });

  it('normalizes a uuid written without dashes', () => {
    expect(parseDomainXml(fixture('domains/seclabel-none.xml')).uuid).toBe('9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d');
  });

  it.each([
    { xml: fixture('domains/broken-not-xml.xml'), reason: /not well-formed/ },
    { xml: '<domain><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid></domain>', reason: /no <name>/ },
    { xml: '<domain><name>x</name><uuid>nope</uuid></domain>', reason: /no valid <uuid>/ },
    { xml: '', reason: /not well-formed/ },
  ])('refuses bad input: $reason', ({ xml, reason }) => {
    expect(() => parseDomainXml(xml)).toThrow(reason);
  });
});
