/**
 * Alerts and syslog from a real `serve` process: a cross-vm denial appended to the
 * followed log reaches a webhook on loopback with a link back to the server and a syslog
 * listener as RFC 5424 over TCP; `svirt-audit alerts`, /healthz and /metrics show them sent, and a config file that is unsafe or wrong stops serve with why.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../store/store.js';
import { AlertReceiver } from '../helpers/alert-receiver.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { cli, cliProcess } from '../helpers/cli-run.js';
import { HostScenario, imageContext, svirtContext } from '../helpers/scenario-builder.js';
import { tempDir } from '../helpers/temp-store.js';
import { DB1, WEB1 } from '../helpers/cross-vm-pair.js';

const scratch = tempDir();
const db = join(scratch.dir, 'audit.db');
const log = join(scratch.dir, 'audit.log');
const config = join(scratch.dir, 'alerts.json');
let receiver: AlertReceiver;
let child: ChildProcess;
let base = '';
let syslogServer: Server;
let syslogText = '';
/** serve's log (pino JSON lines on stdout). */
let logged = '';

/** web1 reading db1's disk, as the kernel logs it. */
function crossVmLine(serial: number): string {
  const stamp = `${(Date.now() / 1000).toFixed(3)}:${serial}`;
  return `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=4101 comm="qemu-kvm" name="db1.qcow2" dev="dm-0" ino=${serial} scontext=${svirtContext(WEB1.categories)} tcontext=${imageContext(DB1.categories)} tclass=file permissive=0\n`;
}

beforeAll(async () => {
  requireBuilt();
  receiver = await new AlertReceiver().start();
  syslogServer = createServer((socket) => socket.on('data', (d: Buffer) => (syslogText += d.toString())));
  await new Promise<void>((resolve) => syslogServer.listen(0, '127.0.0.1', resolve));
  const syslogPort = (syslogServer.address() as { port: number }).port;
  const store = openStore(db);
  const s = new HostScenario(store, scratch.dir, 'hv1', Date.now() - 60_000);
  s.hook('start', WEB1, 0);
  s.hook('start', DB1, 0);
  store.close();
  writeFileSync(log, crossVmLine(1)); // read by serve once it runs: alerted and forwarded
  writeFileSync(
    config,
    JSON.stringify({ groupWait: '1ms', receivers: [{ name: 'siem', type: 'webhook', url: `${receiver.url}/in` }] }),
  );
  chmodSync(config, 0o600);
  child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--db',
      db,
      '--listen',
      '127.0.0.1:0',
      '--follow',
      log,
      '--alerts',
      config,
      '--syslog',
      `tcp://127.0.0.1:${syslogPort}`,
      '--host',
      'hv1',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (chunk: Buffer) => (logged += chunk.toString()));
  let err = '';
  while (!/listening on (http:\/\/[^\s;]+)/.test(err)) {
    const [chunk] = (await once(child.stderr as NodeJS.ReadableStream, 'data')) as [Buffer];
    err += chunk.toString();
  }
  base = (/listening on (http:\/\/[^\s;]+)/.exec(err) as RegExpExecArray)[1] as string;
  expect(err).toContain('; alerts to siem');
});
afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await receiver.stop();
  syslogServer.close();
  scratch.cleanup();
});

describe('serve --alerts', () => {
  it('cross-vm denials stored after the start reach the webhook as one alert, linked to this server', async () => {
    appendFileSync(log, crossVmLine(2) + crossVmLine(3));
    await receiver.accepting(1);
    const body = receiver.accepted[0]?.body as {
      alert: { kind: string; count: number; vm: { name: string }; links: { denial: string } };
    };
    expect(body.alert).toMatchObject({ kind: 'cross-vm', vm: { name: 'web1' } });
    expect(body.alert.count).toBeGreaterThanOrEqual(1);
    const explain = await fetch(body.alert.links.denial);
    expect(explain.status).toBe(200);
    expect(await explain.json()).toMatchObject({ denial: { kind: 'cross-vm' } });

    await expect
      .poll(
        async () =>
          (await fetch(`${base}/metrics`).then((r) => r.text())).match(
            /svirt_audit_alert_deliveries\{state="sent"\} (\d+)/,
          )?.[1],
      )
      .toBe('1');
    const listed = await cliProcess(['alerts', '--db', db, '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { kind: 'cross-vm', state: 'sent', deliveries: [{ receiver: 'siem', state: 'sent' }] },
    ]);
    expect(receiver.accepted).toHaveLength(1);
  });

  it('each denial appended goes to syslog once, framed by octet counting', async () => {
    // The first line too: serve stored it after it started (the store held no denial before).
    await expect.poll(() => syslogText.match(/<82>1 /g)?.length ?? 0).toBe(3);
    // Octet counting: a length in bytes, a space, that many bytes, and the next frame.
    const bytes = Buffer.from(syslogText);
    const frames: string[] = [];
    for (let at = 0; at < bytes.length;) {
      const space = bytes.indexOf(0x20, at);
      const length = Number(bytes.subarray(at, space).toString());
      frames.push(bytes.subarray(space + 1, space + 1 + length).toString());
      at = space + 1 + length;
    }
    expect(frames.map((f) => f.startsWith('<82>1 ') && f.endsWith('of db1'))).toEqual([true, true, true]);
    expect(frames.map((f) => / id="(\d+)"/.exec(f)?.[1])).toEqual(['1', '2', '3']);
    const health = (await (await fetch(`${base}/healthz`)).json()) as { syslog: unknown; alerts: unknown };
    expect(health.syslog).toMatchObject({
      destination: expect.stringMatching(/^tcp:\/\/127\.0\.0\.1:\d+$/),
      behind: 0,
      failures: 0,
    });
    expect(health.alerts).toEqual({ pending: 0, failed: 0, sent: 1 });
  });

  it('SIGHUP reloads the alert config; one that no longer loads keeps the rules running', async () => {
    const second = await new AlertReceiver().start();
    try {
      writeFileSync(config, '{"receivers": [');
      child.kill('SIGHUP');
      await expect.poll(() => logged).toContain('alert config not reloaded; keeping the previous rules');
      writeFileSync(
        config,
        JSON.stringify({
          groupWait: '1ms',
          window: '1ms',
          receivers: [{ name: 'second', type: 'webhook', url: `${second.url}/in` }],
        }),
      );
      child.kill('SIGHUP');
      await expect.poll(() => logged).toContain('alert rules reloaded');
      appendFileSync(log, crossVmLine(4));
      await second.accepting(1);
      expect((second.accepted[0]?.body as { alert: { lastDenialId: number } }).alert.lastDenialId).toBe(4);
      expect(receiver.accepted).toHaveLength(1); // the first receiver got nothing more
    } finally {
      await second.stop();
    }
  });

  it('a config others may read, one that is not JSON, or one with a typo stops serve with why', async () => {
    const other = join(scratch.dir, 'other.db');
    const bad = join(scratch.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ receivers: [] }));
    chmodSync(bad, 0o644);
    let r = await cli(['serve', '--db', other, '--no-follow', '--alerts', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`alert config ${bad} has mode 644`);
    expect(r.stderr).toContain(`chmod 600 ${bad}`);
    chmodSync(bad, 0o600);
    writeFileSync(bad, '{"receivers": [');
    r = await cli(['serve', '--db', other, '--no-follow', '--alerts', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`alert config ${bad} is not JSON`);
    writeFileSync(bad, JSON.stringify({ recievers: [] }));
    r = await cli(['serve', '--db', other, '--no-follow', '--alerts', bad]);
    expect(r.stderr).toContain(`${bad}: alert config: recievers is not an alert setting`);
    r = await cli(['serve', '--db', other, '--no-follow', '--alerts', join(scratch.dir, 'missing.json')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot be read (ENOENT)');
    r = await cli(['serve', '--db', other, '--no-follow', '--syslog', 'tls://127.0.0.1:6514?ca=/nonexistent/ca.pem']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--syslog: /nonexistent/ca.pem does not exist');
    // The fleet's read server collects nothing: alerts and syslog belong on the hosts.
    r = await cli(['serve', '--store', 'postgres://fleet.example/svirt_audit', '--syslog', 'udp://127.0.0.1:514']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--syslog belongs on each host's serve");
  });
});
