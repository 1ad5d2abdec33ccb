/**
 * The syslog forwarder against a real rsyslogd: every denial arrives once over the local
 * socket, UDP, TCP and TLS, as RFC 5424 rsyslog parses back into its fields; a syslog
 * server down for a while and a restart of the forwarder lose and repeat nothing; a
 * name a guest chose cannot break a message apart.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { denialsAfter } from '../../store/denial-query.js';
import { saveFeedPosition } from '../../store/feed-positions.js';
import { SYSLOG_FEED, SyslogForwarder } from '../../syslog/syslog-forwarder.js';
import type { SyslogDestination } from '../../syslog/syslog-destination.js';
import { type ReceivedSyslog, Rsyslog, rsyslogUnavailable } from '../helpers/rsyslog.js';
import { HostScenario } from '../helpers/scenario-builder.js';
import { openTempStore, type TempStore, tempDir } from '../helpers/temp-store.js';
import { DB1, WEB1, web1ReadsDb1 } from '../helpers/cross-vm-pair.js';

const skip = rsyslogUnavailable();
if (skip) console.log(`skipped: the syslog forwarder against rsyslog: ${skip}`);

const scratch = tempDir('svirt-audit-rsyslog-');
const rsyslog = new Rsyslog(scratch.dir);
let t: TempStore;
let scenario: HostScenario;
let minute = 10;

/** `n` cross-vm denials of web1 on db1's disk, stored; the last may carry a hostile path. */
async function store(n: number, path?: string): Promise<void> {
  for (let i = 0; i < n; i++) scenario.avc(minute++, web1ReadsDb1(path));
  await ingestFiles(t.store, [scenario.writeLog()], { localHost: 'hv1' });
}

const idsOf = (messages: ReceivedSyslog[]) => messages.map((m) => Number(/ id="(\d+)"/.exec(m.structuredData)?.[1]));
const fromInput = (input: string) => rsyslog.received().filter((m) => m.input === input);

async function forwardAll(destination: SyslogDestination): Promise<SyslogForwarder> {
  const f = new SyslogForwarder(t.store, { destination, pollMs: 20 });
  f.start();
  await expect.poll(() => f.status().behind, { timeout: 10_000 }).toBe(0);
  return f;
}

beforeAll(async () => {
  if (!skip) await rsyslog.start();
});
afterAll(async () => {
  await rsyslog.stop();
  scratch.cleanup();
});
beforeEach(() => {
  t = openTempStore();
  scenario = new HostScenario(t.store, t.dir, 'hv1', Date.now() - 3_600_000);
  scenario.hook('start', WEB1, 0);
  scenario.hook('start', DB1, 1);
  return () => t.cleanup();
});

describe.skipIf(skip)('syslog to rsyslog', () => {
  it('every denial arrives once over the local socket, UDP, TCP and TLS, with its fields', async () => {
    await store(3);
    const destinations: [string, SyslogDestination][] = [
      ['imuxsock', { kind: 'unix', path: rsyslog.socket }],
      ['udp', { kind: 'udp', host: '127.0.0.1', port: rsyslog.ports.udp }],
      ['tcp', { kind: 'tcp', host: '127.0.0.1', port: rsyslog.ports.tcp }],
      ['tls', { kind: 'tls', host: '127.0.0.1', port: rsyslog.ports.tls, ca: rsyslog.ca }],
    ];
    for (const [input, destination] of destinations) {
      saveFeedPosition(t.store, SYSLOG_FEED, 0); // from the first denial, for each destination
      const f = await forwardAll(destination);
      await f.stop();
      await expect.poll(() => fromInput(input).length, { timeout: 10_000 }).toBe(3);
      const messages = fromInput(input);
      expect(idsOf(messages)).toEqual([1, 2, 3]);
      const [m] = messages;
      expect(m).toMatchObject({
        pri: 10 * 8 + 2, // authpriv.crit
        hostname: 'hv1',
        app: 'svirt-audit',
        procId: String(process.pid),
        msgId: 'cross-vm',
      });
      expect(Date.parse(m?.time ?? '')).toBe(denialsAfter(t.store, 0, 1)[0]?.time);
      expect(m?.structuredData).toMatch(
        /^\[svirt-audit@32473 id="1" kind="cross-vm" model="selinux" perms="read" tclass="file" /,
      );
      expect(m?.structuredData).toContain(`vm="web1" vmUuid="${WEB1.uuid}" targetVm="db1" targetVmUuid="${DB1.uuid}"`);
      expect(m?.msg.replace(/^\ufeff/, '')).toBe(
        'cross-vm: web1 denied read on file /var/lib/libvirt/images/db1.qcow2 of db1',
      );
    }
  });

  it('nothing is lost while rsyslog is down, nor across a restart of the forwarder', async () => {
    await rsyslog.stop();
    const tcp: SyslogDestination = { kind: 'tcp', host: '127.0.0.1', port: rsyslog.ports.tcp };
    const before = fromInput('tcp').length;
    const first = new SyslogForwarder(t.store, { destination: tcp, pollMs: 20 });
    saveFeedPosition(t.store, SYSLOG_FEED, 0);
    first.start();
    await store(2);
    await expect.poll(() => first.status().failures, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(first.status()).toMatchObject({ behind: 2, lastError: expect.stringMatching(/ECONNREFUSED/) });
    await rsyslog.start();
    await expect.poll(() => first.status().behind, { timeout: 10_000 }).toBe(0);
    await first.stop();

    await store(3); // stored while no forwarder runs
    const second = await forwardAll(tcp);
    await second.stop();
    await expect.poll(() => fromInput('tcp').length - before, { timeout: 10_000 }).toBe(5);
    expect(idsOf(fromInput('tcp').slice(before))).toEqual([1, 2, 3, 4, 5]);
  });

  it('a path a guest chose cannot end the message, its structured data or a field early', async () => {
    await store(1, '/srv/x"] [forged@1 a="b"]\nDec  3 evil: | y');
    saveFeedPosition(t.store, SYSLOG_FEED, 0);
    const before = fromInput('tls').length;
    const f = await forwardAll({ kind: 'tls', host: '127.0.0.1', port: rsyslog.ports.tls, ca: rsyslog.ca });
    await f.stop();
    await expect.poll(() => fromInput('tls').length - before, { timeout: 10_000 }).toBe(1);
    const [m] = fromInput('tls').slice(before);
    expect(m?.structuredData).toContain('path="/srv/x\\"\\] [forged@1 a=\\"b\\"\\]\\\\x0aDec  3 evil: | y"');
    // With each quoted value (escapes included) emptied, one element of name="" pairs is left.
    const structure = m?.structuredData.replace(/"(?:\\.|[^"\\])*"/g, '""');
    expect(structure).toMatch(/^\[svirt-audit@32473( [a-zA-Z]+="")+\]$/);
    expect(m?.msg).toContain('\\x0aDec  3 evil');
  });

  it('refuses a TLS server its CA did not sign', async () => {
    const f = new SyslogForwarder(t.store, {
      destination: { kind: 'tls', host: '127.0.0.1', port: rsyslog.ports.tls },
      pollMs: 20,
    });
    saveFeedPosition(t.store, SYSLOG_FEED, 0);
    await store(1);
    f.start();
    await expect
      .poll(() => f.status().lastError, { timeout: 10_000 })
      .toMatch(/self[- ]signed|unable to get local issuer/);
    await f.stop();
    expect(f.status().behind).toBe(1);
  });
});
