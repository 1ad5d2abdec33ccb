/**
 * The syslog forwarder's position, over UDP to a socket of the test's own: the first run
 * starts where serve says (after what was stored before it started), even when the
 * collector stores denials before the forwarder was started.
 */

import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { latestDenialId } from '../../store/denial-query.js';
import { openStore } from '../../store/store.js';
import { SyslogForwarder } from '../../syslog/syslog-forwarder.js';
import { DB1, WEB1, web1ReadsDb1 } from '../helpers/cross-vm-pair.js';
import { HostScenario } from '../helpers/scenario-builder.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
let scenario: HostScenario;
const udp = createSocket('udp4');
const received: string[] = [];
udp.on('message', (m) => received.push(m.toString()));

beforeAll(async () => {
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
});
afterAll(() => udp.close());
beforeEach(() => {
  t = openTempStore();
  scenario = new HostScenario(t.store, t.dir, 'hv1', Date.now() - 3_600_000);
  scenario.hook('start', WEB1, 0);
  scenario.hook('start', DB1, 1);
});
afterEach(() => t.cleanup());

async function store(minute: number): Promise<void> {
  scenario.avc(minute, web1ReadsDb1());
  await ingestFiles(t.store, [scenario.writeLog()], { localHost: 'hv1' });
}

describe('the syslog forwarder', () => {
  it('sends nothing stored before its first position, even when nudged before it started', async () => {
    await store(10);
    await store(11);
    const forwarder = new SyslogForwarder(t.store, {
      destination: { kind: 'udp', host: '127.0.0.1', port: udp.address().port },
      firstPosition: latestDenialId(t.store),
      pollMs: 20,
    });
    forwarder.nudge(); // the collector stored something before serve started the forwarder
    await store(12);
    forwarder.start();
    await expect.poll(() => forwarder.status().behind).toBe(0);
    await forwarder.stop();
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]).toMatch(/ id="3" /);
  });

  it('a database busy when the position is saved: a warning, the batch sent again, no crash', async () => {
    const busy = openStore(t.path, { busyTimeoutMs: 50 });
    const warnings: string[] = [];
    const forwarder = new SyslogForwarder(busy, {
      destination: { kind: 'udp', host: '127.0.0.1', port: udp.address().port },
      firstPosition: 0,
      pollMs: 60_000,
      onWarning: (message) => warnings.push(message),
    });
    forwarder.start();
    const before = received.length;
    await store(10);
    t.store.db.exec('BEGIN IMMEDIATE'); // another writer holds the database
    forwarder.nudge();
    await expect.poll(() => warnings).toContain('syslog messages not sent; trying again');
    t.store.db.exec('ROLLBACK');
    forwarder.nudge();
    await expect.poll(() => forwarder.status().behind).toBe(0);
    await forwarder.stop();
    busy.close();
    await expect.poll(() => received.length - before).toBe(2); // sent, not recorded, sent again
    expect(received.slice(before).every((m) => / id="1" /.test(m))).toBe(true);
  });
});
