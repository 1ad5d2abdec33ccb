/**
 * The Prometheus alerting rules we ship (docs/prometheus/): promtool accepts them and
 * their unit tests pass, and every metric they name is one /metrics serves.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../api/metrics.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const DIR = join(REPO_ROOT, 'docs', 'prometheus');
const PROMTOOL = '/usr/bin/promtool';
const skip = existsSync(PROMTOOL) ? undefined : `${PROMTOOL} is not installed (Debian package prometheus)`;
if (skip) console.log(`skipped: promtool on the alerting rules: ${skip}`);

describe('Prometheus alerting rules', () => {
  it.skipIf(skip)('pass promtool check and their unit tests', () => {
    const run = (args: string[]) => execFileSync(PROMTOOL, args, { cwd: DIR, encoding: 'utf8', stdio: 'pipe' });
    expect(run(['check', 'rules', 'svirt-audit.rules.yml'])).toContain('SUCCESS: 11 rules found');
    expect(run(['test', 'rules', 'svirt-audit.rules.test.yml'])).toContain('SUCCESS');
  });

  it('name only metrics /metrics serves', () => {
    const rendered = new Metrics().render({
      lagBytes: 0,
      lagSeconds: 0,
      allocationsOpen: 0,
      storedDenials: 0,
      eventsBelowHorizon: 0,
      retention: {
        usedBytes: 1,
        fileBytes: 1,
        maxBytes: 2,
        prunedDenials: 0,
        prunedEvents: 0,
      } as Parameters<Metrics['render']>[0]['retention'],
      shipping: { lagRows: 0, lagSeconds: 0, failures: 0, shipped: { rows: 0 } } as Parameters<
        Metrics['render']
      >[0]['shipping'],
      alerting: { pending: 0, failed: 0, sent: 0 },
      syslog: { destination: 'udp://127.0.0.1:514', forwarded: 0, behind: 0, failures: 0, lastError: null },
    });
    const served = new Set([...rendered.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]));
    const named = new Set(readFileSync(join(DIR, 'svirt-audit.rules.yml'), 'utf8').match(/svirt_audit_\w+/g));
    expect(named.size).toBeGreaterThan(5);
    expect([...named].filter((n) => !served.has(n))).toEqual([]);
  });
});
