/**
 * Our Alertmanager payload against a real Prometheus Alertmanager (Debian's
 * prometheus-alertmanager): it accepts the POST, and the alert it then lists carries our
 * labels, annotations and times.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../../alerts/alert-evaluator.js';
import { Alerting } from '../../alerts/alerting.js';
import { DEFAULT_ALERT_RULES } from '../../core/alert-rules.js';
import { ingestFiles } from '../../collector/backfill.js';
import { listAlerts } from '../../store/alert-outbox.js';
import { DB1, WEB1, web1ReadsDb1 } from '../helpers/cross-vm-pair.js';
import { HostScenario } from '../helpers/scenario-builder.js';
import { openTempStore } from '../helpers/temp-store.js';

const BINARY = '/usr/bin/prometheus-alertmanager';
const skip = existsSync(BINARY) ? undefined : `${BINARY} is not installed (Debian package prometheus-alertmanager)`;
if (skip) console.log(`skipped: alerts to a real Alertmanager: ${skip}`);

const t = openTempStore();
let child: ChildProcess | undefined;
let url = '';

interface ListedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  status: { state: string };
}

beforeAll(async () => {
  if (skip) return;
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  url = `http://127.0.0.1:${port}`;
  const config = join(t.dir, 'alertmanager.yml');
  writeFileSync(config, 'route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n');
  child = spawn(
    BINARY,
    [
      `--config.file=${config}`,
      `--storage.path=${join(t.dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: 'ignore' },
  );
  // Ready when /-/ready answers 200; a process starting has no event to await.
  for (let attempt = 0; ; attempt++) {
    const ready = await fetch(`${url}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    if (attempt > 400 || child.exitCode !== null) throw new Error('Alertmanager did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  t.cleanup();
});

describe.skipIf(skip)('alerts to Alertmanager', () => {
  it('Alertmanager accepts the alert and lists it with our labels and annotations', async () => {
    const rules = {
      ...DEFAULT_ALERT_RULES,
      groupWaitMs: 0,
      linkBase: 'https://hv1.example:8785',
      receivers: [{ name: 'am', type: 'alertmanager' as const, url, headers: {} }],
    };
    const s = new HostScenario(t.store, t.dir, 'hv1', Date.now() - 600_000);
    s.hook('start', WEB1, 0);
    s.hook('start', DB1, 0);
    evaluateAlerts(t.store, rules, Date.now());
    for (const m of [1, 2]) s.avc(m, web1ReadsDb1());
    await ingestFiles(t.store, [s.writeLog()], { localHost: 'hv1' });
    const alerting = new Alerting(t.store, rules, { version: '9.9.9', tickMs: 20 });
    alerting.start();
    try {
      await expect.poll(() => listAlerts(t.store, { limit: 1 })[0]?.state, { timeout: 10_000 }).toBe('sent');
    } finally {
      await alerting.stop();
    }
    const listed = (await (await fetch(`${url}/api/v2/alerts`)).json()) as ListedAlert[];
    expect(listed).toHaveLength(1);
    const [a] = listed;
    expect(a?.labels).toEqual({
      alertname: 'SvirtAuditDenial',
      kind: 'cross-vm',
      host: 'hv1',
      severity: 'critical',
      vm: 'web1',
      vm_uuid: WEB1.uuid,
    });
    const key = listAlerts(t.store, { limit: 1 })[0]?.alert.key;
    expect(a?.annotations).toMatchObject({ count: '2', target_vms: 'db1', idempotency_key: key });
    expect(a?.annotations.summary).toMatch(/^cross-vm: 2 denials of web1 on hv1 on files of db1, from /);
    expect(a?.status.state).toBe('active');
    expect(a?.generatorURL).toMatch(/^https:\/\/hv1\.example:8785\/v1\/denials\/\d+$/);
    expect(Date.parse(a?.endsAt ?? '') - Date.parse(a?.startsAt ?? '')).toBeGreaterThanOrEqual(rules.windowMs);
  });
});
