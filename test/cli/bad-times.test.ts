/**
 * A time outside the range svirt-audit keeps is refused at the door (CLI and API), and a
 * row that holds one anyway (written before the check existed) cannot take a listing down.
 */

import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InProcessAnswers } from '../../api/answer-pool.js';
import { buildApp } from '../../api/app.js';
import { DenialNotifier } from '../../api/denial-notifier.js';
import { Metrics } from '../../api/metrics.js';
import { TokenSet } from '../../api/tokens.js';
import { openStore } from '../../store/store.js';
import { cli } from '../helpers/cli-run.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());
const UUID = '6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

describe('times out of range', () => {
  it('alloc and release refuse them with exit 2 and record nothing', async () => {
    const db = join(scratch.dir, 'refuse.db');
    for (const started of ['99999999999h', '3000w', '1969-01-01']) {
      const r = await cli(['alloc', '--db', db, '--uuid', UUID, '--vm', 'far', '--started', started]);
      expect(r.status, started).toBe(2);
      expect(r.stderr).toMatch(
        /outside the times svirt-audit keeps; give a time between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z/,
      );
    }
    expect(JSON.parse((await cli(['allocations', '--db', db, '--json'])).stdout)).toEqual([]);
    expect((await cli(['denials', '--db', db, '--since', '99999999999h'])).status).toBe(2);
  });

  it('a stored row with an impossible time is shown as such; vms, allocations and the API still answer', async () => {
    const db = join(scratch.dir, 'bad-row.db');
    expect((await cli(['alloc', '--db', db, '--uuid', UUID, '--vm', 'web1', '--host', 'hv1'])).status).toBe(0);
    const store = openStore(db);
    store.db.prepare('UPDATE allocation SET started_at = ?').run(-3.6e17);
    for (const argv of [['vms'], ['allocations'], ['vms', '--json'], ['allocations', '--json']]) {
      const r = await cli([...argv, '--db', db]);
      expect({ argv, status: r.status, stderr: r.stderr }).toEqual({ argv, status: 0, stderr: '' });
      expect(r.stdout).toMatch(/invalid time -360000000000000000/);
    }
    const app = await buildApp({
      ctx: {
        store,
        answers: new InProcessAnswers(store),
        tokens: () => TokenSet.none(),
        notifier: new DenialNotifier(),
        metrics: new Metrics(),
        localHost: 'hv1',
      },
    });
    try {
      for (const url of ['/v1/vms', '/v1/allocations', `/v1/vms/${UUID}`]) {
        const r = await app.inject({ url });
        expect({ url, status: r.statusCode }).toEqual({ url, status: 200 });
      }
    } finally {
      await app.close();
      store.close();
    }
  });
});
