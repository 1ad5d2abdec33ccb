/** A denial as RFC 5424: the header's grammar, severities, escaping, limits and framing. */

import { describe, expect, it } from 'vitest';
import { DENIAL_KINDS } from '../../core/denial-kind.js';
import { denialSyslog, octetCounted } from '../../core/syslog-message.js';
import { parseSyslogDestination } from '../../syslog/syslog-destination.js';
import { SAMPLE_DENIAL } from '../helpers/sample-denial.js';

const denial = SAMPLE_DENIAL;

// RFC 5424's HEADER, one SD-ELEMENT, and MSG-UTF8.
const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) (\[[^ =\]"]{1,32}(?: [^ =\]"]{1,32}="(?:\\["\\\]]|[^"\\\]])*")*\]) \ufeff(.*)$/su;

describe('RFC 5424 messages', () => {
  it('follows the grammar, with the denial in the header and the structured data', () => {
    const m = RFC5424.exec(denialSyslog(denial, { procId: 777 }));
    expect(m?.slice(1, 7)).toEqual(['82', '2026-11-21T10:31:00.123Z', 'hv1', 'svirt-audit', '777', 'cross-vm']);
    expect(m?.[7]).toBe(
      '[svirt-audit@32473 id="42" kind="cross-vm" model="selinux" perms="read write" tclass="file" permissive="false" vm="web1" vmUuid="4dea22b3-1d52-d8f3-2516-782e98ab3fa0" targetVm="db1" targetVmUuid="c7a5fdbd-cdaf-9455-926a-d65c16db1809" scontext="system_u:system_r:svirt_t:s0:c101,c202" tcontext="system_u:object_r:svirt_image_t:s0:c303,c404" path="/var/lib/libvirt/images/db1.qcow2" comm="qemu-kvm" pid="4101"]',
    );
    expect(m?.[8]).toBe('cross-vm: web1 denied read write on file /var/lib/libvirt/images/db1.qcow2 of db1');
  });

  it('authpriv, with a severity from the kind: crit for cross-vm down to notice', () => {
    const pri = DENIAL_KINDS.map((kind) =>
      Number(/^<(\d+)>/.exec(denialSyslog({ ...denial, kind }, { procId: 1 }))?.[1]),
    );
    expect(pri).toEqual([82, 83, 84, 84, 84, 85, 85]);
  });

  it('a hostile host, path and name stay inside their fields, and long values are cut', () => {
    const hostile = denialSyslog(
      {
        ...denial,
        host: 'hv 1\n<13>1 forged',
        source: { ...denial.source, comm: 'a"b]c\\d\u001b[31m' },
        target: { ...denial.target, path: `/x${'y'.repeat(5000)}` },
      },
      { procId: 1 },
    );
    const m = RFC5424.exec(hostile);
    expect(m?.[3]).toBe('hv_1_<13>1_forged');
    // The ESC is shown as \x1b, and that backslash escaped as the RFC asks.
    expect(m?.[7]).toContain(String.raw`comm="a\"b\]c\\d\\x1b[31m"`);
    expect(/path="(\/xy+…)"/.exec(m?.[7] ?? '')?.[1]).toHaveLength(1024);
    expect(Buffer.byteLength(hostile)).toBeLessThan(8192);
    expect(hostile).not.toMatch(/[\n\r]/);
  });

  it('octet counting counts bytes, not characters', () => {
    const framed = octetCounted('<82>1 - - - - - - é');
    expect(framed.toString('utf8')).toBe('20 <82>1 - - - - - - é');
  });
});

describe('--syslog destinations', () => {
  it('reads each form', () => {
    expect(parseSyslogDestination('/dev/log')).toEqual({ kind: 'unix', path: '/dev/log' });
    expect(parseSyslogDestination('unix:/run/systemd/journal/syslog')).toEqual({
      kind: 'unix',
      path: '/run/systemd/journal/syslog',
    });
    expect(parseSyslogDestination('udp://10.0.0.5')).toEqual({ kind: 'udp', host: '10.0.0.5', port: 514 });
    expect(parseSyslogDestination('tcp://[::1]:1514')).toEqual({ kind: 'tcp', host: '::1', port: 1514 });
    expect(parseSyslogDestination('tls://siem.example?ca=/etc/ssl/siem.pem')).toEqual({
      kind: 'tls',
      host: 'siem.example',
      port: 6514,
      ca: '/etc/ssl/siem.pem',
    });
  });

  it.each([
    ['unix:dev/log', 'a socket path must be absolute'],
    ['http://siem.example', 'http: is not a syslog transport'],
    ['udp://siem.example?ca=/x', 'only tls:// takes options'],
    ['tls://siem.example?ca=ca.pem', 'ca must be an absolute path'],
    ['tls://siem.example?cert=/c.pem', 'cert and key go together'],
    ['tls://siem.example?verify=no', 'verify is not a TLS option'],
    ['siem.example:514', 'is not a syslog transport'],
  ])('refuses %s', (text, message) => {
    expect(() => parseSyslogDestination(text)).toThrow(message);
  });
});
