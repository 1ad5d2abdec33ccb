/**
 * Alerts from a real SQLite store to real HTTP receivers on loopback: grouped per VM and
 * kind, each receiver's format, retried through failures and an outage, kept across a
 * restart, sent once each, and given up with the reason where trying again cannot help.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../../alerts/alert-evaluator.js';
import { Alerting } from '../../alerts/alerting.js';
import { type AlertRules, DEFAULT_ALERT_RULES, type ReceiverConfig } from '../../core/alert-rules.js';
import { ingestFiles } from '../../collector/backfill.js';
import { listAlerts } from '../../store/alert-outbox.js';
import { openStore, type Store } from '../../store/store.js';
import { AlertReceiver } from '../helpers/alert-receiver.js';
import { cli } from '../helpers/cli-run.js';
import { type DomainSpec, HostScenario, imageContext, svirtContext } from '../helpers/scenario-builder.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';
import { DB1, WEB1, web1ReadsDb1 } from '../helpers/cross-vm-pair.js';

/** Denials written to the log and ingested; each call adds to the same log. */
class Host {
  readonly scenario: HostScenario;
  #minute = 10;
  constructor(readonly t: { store: Store; dir: string }) {
    this.scenario = new HostScenario(t.store, t.dir, 'hv1', Date.now() - 3_600_000);
    this.scenario.hook('start', WEB1, 0);
    this.scenario.hook('start', DB1, 1);
  }

  /** web1 reaching for db1's disk, `n` times. */
  async crossVm(n: number): Promise<void> {
    for (let i = 0; i < n; i++) this.scenario.avc(this.#minute++, web1ReadsDb1());
    await this.#ingest();
  }

  /** A host process refused (kind policy), `n` times. */
  async policy(n: number): Promise<void> {
    for (let i = 0; i < n; i++)
      this.scenario.avc(this.#minute++, {
        perms: 'write',
        scontext: 'system_u:system_r:init_t:s0',
        tcontext: 'system_u:object_r:virt_var_run_t:s0',
        tclass: 'sock_file',
        path: '/run/libvirt/libvirt-sock',
        comm: 'systemd',
        pid: 1,
      });
    await this.#ingest();
  }

  /** db1 refused its own unlabeled NFS image (kind unlabeled-target), `n` times. */
  async unlabeled(n: number): Promise<void> {
    for (let i = 0; i < n; i++)
      this.scenario.avc(this.#minute++, {
        perms: 'read',
        scontext: svirtContext(DB1.categories),
        tcontext: 'system_u:object_r:nfs_t:s0',
        tclass: 'file',
        path: '/srv/nfs/db1-data.img',
        comm: 'qemu-kvm',
        pid: 4202,
      });
    await this.#ingest();
  }

  async #ingest(): Promise<void> {
    await ingestFiles(this.t.store, [this.scenario.writeLog()], { localHost: 'hv1' });
  }
}

const fast = (receivers: ReceiverConfig[], more: Partial<AlertRules> = {}): AlertRules => ({
  ...DEFAULT_ALERT_RULES,
  groupWaitMs: 0,
  receivers,
  linkBase: 'https://hv1.example:8785',
  retry: { firstMs: 20, maxMs: 100, giveUpMs: 3_600_000 },
  ...more,
});
const webhook = (r: AlertReceiver, name = 'hook'): ReceiverConfig => ({
  name,
  type: 'webhook',
  url: `${r.url}/hook`,
  headers: { authorization: 'Bearer s3cret' },
});

let t: TempStore;
let host: Host;
let receiver: AlertReceiver;
const running: Alerting[] = [];

function alerting(rules: AlertRules, store: Store = t.store): Alerting {
  const a = new Alerting(store, rules, { version: '9.9.9', tickMs: 20, requestTimeoutMs: 300 });
  running.push(a);
  a.start();
  return a;
}

beforeEach(async () => {
  t = openTempStore();
  host = new Host(t);
  receiver = await new AlertReceiver().start();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((a) => a.stop()));
  await receiver.stop();
  t.cleanup();
});

describe('alerts', () => {
  it('denials stored before the first run raise no alert; those after do', async () => {
    await host.crossVm(2);
    evaluateAlerts(t.store, fast([]), Date.now());
    expect(listAlerts(t.store, { limit: 10 })).toEqual([]);
    await host.crossVm(1);
    evaluateAlerts(t.store, fast([]), Date.now());
    const [only, ...rest] = listAlerts(t.store, { limit: 10 });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ state: 'unrouted', alert: { kind: 'cross-vm', count: 1, vmName: 'web1' } });
  });

  it('a denial older than maxAge when read is history: no alert', async () => {
    const rules = fast([], { maxAgeMs: 30 * 60_000 }); // the scenario's denials are about 50 minutes old
    evaluateAlerts(t.store, rules, Date.now());
    await host.crossVm(2);
    expect(evaluateAlerts(t.store, rules, Date.now())).toMatchObject({ read: 2, history: 2, matched: 0 });
    expect(listAlerts(t.store, { limit: 10 })).toEqual([]);
    expect(evaluateAlerts(t.store, fast([]), Date.now()).read).toBe(0); // and never read again
  });

  it('a burst is one alert per VM and kind, in each receiver format, with the key and the links', async () => {
    const rules = fast([
      webhook(receiver),
      { name: 'am', type: 'alertmanager', url: `${receiver.url}/am`, headers: {} },
      { name: 'chat', type: 'slack', url: `${receiver.url}/slack`, headers: {} },
    ]);
    evaluateAlerts(t.store, rules, Date.now()); // the first run: position at the newest denial
    await host.crossVm(3);
    alerting(rules);
    await receiver.accepting(3);
    await expect.poll(() => listAlerts(t.store, { limit: 1 })[0]?.state).toBe('sent');
    const byPath = Object.fromEntries(receiver.accepted.map((r) => [r.path, r]));
    expect(Object.keys(byPath).sort()).toEqual(['/am/api/v2/alerts', '/hook', '/slack']);

    const hook = byPath['/hook'];
    const body = hook?.body as { version: string; idempotencyKey: string; alert: Record<string, unknown> };
    expect(hook?.headers.authorization).toBe('Bearer s3cret');
    expect(hook?.headers['idempotency-key']).toBe(body.idempotencyKey);
    expect(hook?.headers['user-agent']).toBe('svirt-audit/9.9.9');
    expect(body.version).toBe('svirt-audit-alert/1');
    expect(body.alert).toMatchObject({
      key: body.idempotencyKey,
      rule: 'kind',
      kind: 'cross-vm',
      severity: 'critical',
      host: 'hv1',
      vm: { name: 'web1', uuid: WEB1.uuid },
      targetVms: [{ name: 'db1', uuid: DB1.uuid }],
      count: 3,
    });
    const links = body.alert.links as { denial: string; vm: string };
    expect(links.denial).toMatch(/^https:\/\/hv1\.example:8785\/v1\/denials\/\d+$/);
    expect(links.vm).toBe(`https://hv1.example:8785/v1/vms/${WEB1.uuid}/summary`);
    expect(body.alert.summary).toMatch(/^cross-vm: 3 denials of web1 on hv1 on files of db1, from .* to /);

    const [am] = byPath['/am/api/v2/alerts']?.body as {
      labels: Record<string, string>;
      annotations: Record<string, string>;
      startsAt: string;
      endsAt: string;
      generatorURL: string;
    }[];
    expect(am?.labels).toEqual({
      alertname: 'SvirtAuditDenial',
      kind: 'cross-vm',
      host: 'hv1',
      severity: 'critical',
      vm: 'web1',
      vm_uuid: WEB1.uuid,
    });
    expect(am?.annotations).toMatchObject({ count: '3', target_vms: 'db1', idempotency_key: body.idempotencyKey });
    // Ends a window after it was sent: the denials are almost an hour old, and must not arrive resolved.
    expect(Date.parse(am?.endsAt ?? '') - Date.now()).toBeGreaterThan(rules.windowMs - 60_000);
    expect(am?.generatorURL).toBe(links.denial);

    const slack = byPath['/slack']?.body as { text: string };
    expect(slack.text).toMatch(
      /^:rotating_light: svirt-audit cross-vm: 3 denials of web1 .*<https:\/\/hv1\.example:8785\/v1\/denials\/\d+\|explain>$/,
    );

    const [listed] = listAlerts(t.store, { limit: 10 });
    expect(listed?.state).toBe('sent');
    expect(listed?.deliveries.map((d) => [d.receiver, d.state, d.attempts])).toEqual([
      ['am', 'sent', 1],
      ['chat', 'sent', 1],
      ['hook', 'sent', 1],
    ]);
  });

  it('a VM name cannot become a Slack mention or link', async () => {
    // As the domain XML escapes it: the name is `web1 <!channel> <https://evil.example|click>&`.
    const name = 'web1 &lt;!channel&gt; &lt;https://evil.example|click&gt;&amp;';
    const sly: DomainSpec = { ...WEB1, name, uuid: '11111111-2222-4333-8444-555555555555', categories: 'c7,c8' };
    host.scenario.hook('start', sly, 2);
    const rules = fast([{ name: 'chat', type: 'slack', url: `${receiver.url}/slack`, headers: {} }]);
    evaluateAlerts(t.store, rules, Date.now());
    host.scenario.avc(50, {
      perms: 'read',
      scontext: svirtContext('c7,c8'),
      tcontext: imageContext(DB1.categories),
      tclass: 'file',
      path: '/var/lib/libvirt/images/db1.qcow2',
      comm: 'qemu-kvm',
      pid: 4999,
    });
    await host.crossVm(0);
    alerting(rules);
    await receiver.accepting(1);
    const text = (receiver.accepted[0]?.body as { text: string }).text;
    expect(text).toContain('web1 &lt;!channel&gt; &lt;https://evil.example|click&gt;&amp;');
    expect(text.match(/</g)).toHaveLength(1); // only our own explain link
  });

  it('through refusals and an outage every alert arrives once, and a restart loses none', async () => {
    const rules = fast([webhook(receiver)], {
      critical: new Set(['db1']),
      thresholds: { ...DEFAULT_ALERT_RULES.thresholds, policy: 5 },
    });
    evaluateAlerts(t.store, rules, Date.now());
    receiver.failNext(500, 503, 429);
    await host.crossVm(2);
    const first = alerting(rules);
    await receiver.accepting(1);
    expect(receiver.refused).toBe(3);

    // Down: db1's denials alert (critical VM) and wait in the outbox, across a restart.
    await receiver.stop();
    await host.unlabeled(4);
    await host.policy(2);
    first.nudge();
    await expect
      .poll(() => listAlerts(t.store, { limit: 10 }).find((l) => l.state === 'pending')?.deliveries[0]?.lastError)
      .toMatch(/ECONNREFUSED/);
    await first.stop();
    const pending = listAlerts(t.store, { limit: 10 });
    expect(pending.map((l) => [l.alert.kind, l.alert.vmName, l.state])).toEqual([
      ['policy', null, 'collecting'],
      ['unlabeled-target', 'db1', 'pending'],
      ['cross-vm', 'web1', 'sent'],
    ]);
    t.store.close();

    const reopened = openStore(t.path);
    try {
      await receiver.start();
      alerting(rules, reopened);
      await receiver.accepting(2);
      await expect.poll(() => listAlerts(reopened, { limit: 10, state: 'pending' })).toEqual([]);
      const keys = receiver.accepted.map((r) => r.headers['idempotency-key']);
      expect(new Set(keys).size).toBe(2);
      const listed = listAlerts(reopened, { limit: 10 });
      expect(listed.map((l) => [l.alert.kind, l.state, l.alert.count])).toEqual([
        ['policy', 'collecting', 2],
        ['unlabeled-target', 'sent', 4],
        ['cross-vm', 'sent', 2],
      ]);
      expect(listed[1]?.deliveries[0]?.attempts).toBeGreaterThan(1);
      expect((receiver.accepted[1]?.body as { alert: { rule: string } }).alert.rule).toBe('critical-vm');
    } finally {
      await Promise.all(running.splice(0).map((a) => a.stop()));
      reopened.close();
    }
  });

  it("a group's next alert waits a window after the last, and carries what came meanwhile", async () => {
    const rules = fast([], { windowMs: 60_000 });
    const t0 = Date.now();
    evaluateAlerts(t.store, rules, t0);
    await host.crossVm(3);
    expect(evaluateAlerts(t.store, rules, t0)).toMatchObject({ read: 3, matched: 3, due: 1 });
    await host.crossVm(2);
    expect(evaluateAlerts(t.store, rules, t0 + 1000)).toMatchObject({ read: 2, due: 0 });
    expect(evaluateAlerts(t.store, rules, t0 + 59_999).due).toBe(0);
    await host.crossVm(1);
    expect(evaluateAlerts(t.store, rules, t0 + 60_000)).toMatchObject({ read: 1, due: 1 });
    const listed = listAlerts(t.store, { limit: 10 });
    expect(listed.map((l) => [l.alert.count, l.alert.dueAt])).toEqual([
      [3, t0 + 60_000],
      [3, t0],
    ]);
    // Read twice, counted once.
    expect(evaluateAlerts(t.store, rules, t0 + 60_001)).toMatchObject({ read: 0, due: 0 });
  });

  it('a kind with a threshold alerts only when a window holds that many', async () => {
    const rules = fast([], { thresholds: { policy: 3 }, windowMs: 60_000 });
    const t0 = Date.now();
    evaluateAlerts(t.store, rules, t0);
    await host.policy(2);
    evaluateAlerts(t.store, rules, t0);
    expect(listAlerts(t.store, { limit: 10 }).map((l) => l.state)).toEqual(['collecting']);
    evaluateAlerts(t.store, rules, t0 + 60_000); // the window passed below the threshold
    expect(listAlerts(t.store, { limit: 10 })).toEqual([]);
    await host.policy(3);
    expect(evaluateAlerts(t.store, rules, t0 + 61_000).due).toBe(1);
    expect(listAlerts(t.store, { limit: 10 }).map((l) => [l.state, l.alert.count])).toEqual([['unrouted', 3]]);
    await host.crossVm(1); // cross-vm is not in these rules
    expect(evaluateAlerts(t.store, rules, t0 + 62_000).matched).toBe(0);
  });

  it('a refusal that retrying cannot fix is given up, and `svirt-audit alerts` says why', async () => {
    const rules = fast([webhook(receiver)]);
    evaluateAlerts(t.store, rules, Date.now());
    receiver.failNext(400);
    await host.crossVm(1);
    const a = alerting(rules);
    await expect.poll(() => listAlerts(t.store, { limit: 1 })[0]?.state).toBe('failed');
    await a.stop();
    expect(receiver.accepted).toEqual([]);
    const text = await cli(['alerts', '--db', t.path]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/failed +cross-vm +web1 +hv1 +1 /);
    expect(text.stdout).toContain('to hook failed: HTTP 400: refused with 400');
    const json = await cli(['alerts', '--db', t.path, '--json', '--state', 'failed']);
    expect(JSON.parse(json.stdout)).toMatchObject([
      { kind: 'cross-vm', state: 'failed', deliveries: [{ receiver: 'hook', state: 'failed', attempts: 1 }] },
    ]);
    expect(JSON.parse((await cli(['alerts', '--db', t.path, '--json', '--state', 'sent'])).stdout)).toEqual([]);
  });

  it('a database busy when a send is recorded: a warning, the alert sent again with its key, no crash', async () => {
    const busy = openStore(t.path, { busyTimeoutMs: 50 });
    const rules = fast([webhook(receiver)]);
    evaluateAlerts(busy, rules, Date.now());
    await host.crossVm(1);
    const warnings: string[] = [];
    const a = new Alerting(busy, rules, {
      version: '9.9.9',
      tickMs: 20,
      onWarning: (message) => warnings.push(message),
    });
    running.push(a);
    // Another writer holds the database while the receiver answers: the send cannot be recorded.
    receiver.onRequest = () => {
      receiver.onRequest = undefined;
      t.store.db.exec('BEGIN IMMEDIATE');
    };
    a.start();
    await expect.poll(() => warnings).toContain('alerts not sent; trying again');
    t.store.db.exec('ROLLBACK');
    await expect.poll(() => listAlerts(t.store, { limit: 1 })[0]?.state).toBe('sent');
    const keys = receiver.accepted.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
    await a.stop();
    busy.close();
  });

  it('an alert is sent when its group wait ends, not at the next tick', async () => {
    const rules = fast([webhook(receiver)], { groupWaitMs: 100 });
    evaluateAlerts(t.store, rules, Date.now());
    const a = new Alerting(t.store, rules, { version: '9.9.9', tickMs: 3_600_000, requestTimeoutMs: 300 });
    running.push(a);
    a.start();
    await host.crossVm(2);
    const stored = Date.now();
    a.nudge(); // as the collector does after it stored them
    await receiver.accepting(1);
    expect(Date.now() - stored).toBeGreaterThanOrEqual(100);
    expect((receiver.accepted[0]?.body as { alert: { count: number } }).alert.count).toBe(2);
  });

  it('a receiver that never answers holds up only its own alerts', async () => {
    const other = await new AlertReceiver().start();
    try {
      receiver.hang(true);
      const rules = fast([webhook(receiver, 'stuck'), webhook(other, 'fine')]);
      evaluateAlerts(t.store, rules, Date.now());
      await host.crossVm(1);
      alerting(rules);
      await other.accepting(1);
      await expect
        .poll(() => listAlerts(t.store, { limit: 1 })[0]?.deliveries.find((d) => d.receiver === 'stuck')?.lastError)
        .toBe('no answer within 300 ms');
    } finally {
      await other.stop();
    }
  });
});
