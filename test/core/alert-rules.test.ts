/** The alert config's rules: defaults, every refusal naming its key, matching and timing. */

import { describe, expect, it } from 'vitest';
import {
  alertMatch,
  alertNotBefore,
  DEFAULT_ALERT_RULES,
  parseAlertRules,
  retryDelay,
} from '../../core/alert-rules.js';

const web1 = { uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0', name: 'web1' };
const denial = (kind: Parameters<typeof alertMatch>[1]['kind'], vm: typeof web1 | null = web1) => ({
  kind,
  host: 'hv1',
  source: { vm, label: 'system_u:system_r:svirt_t:s0:c1,c2' },
});

describe('alert rules', () => {
  it('by default cross-vm and stale-label alert, one group per host, VM and kind', () => {
    const rules = parseAlertRules({});
    expect(alertMatch(rules, denial('cross-vm'))).toEqual({
      rule: 'kind',
      threshold: 1,
      groupKey: `hv1\u0000${web1.uuid}\u0000cross-vm`,
    });
    expect(alertMatch(rules, denial('stale-label'))?.threshold).toBe(1);
    expect(alertMatch(rules, denial('policy'))).toBeNull();
    expect(alertMatch(rules, denial('unattributed', null))).toBeNull();
    expect(alertMatch(rules, denial('cross-vm', null))?.groupKey).toBe(
      'hv1\u0000label:system_u:system_r:svirt_t:s0:c1,c2\u0000cross-vm',
    );
  });

  it('a critical VM alerts on every kind; thresholds and kinds replace the defaults', () => {
    const rules = parseAlertRules({ kinds: ['cross-vm'], thresholds: { policy: 50 }, critical: ['web1'] });
    expect(alertMatch(rules, denial('stale-label'))).toMatchObject({ rule: 'critical-vm', threshold: 1 });
    expect(alertMatch(rules, denial('cross-vm'))).toMatchObject({ rule: 'kind', threshold: 1 });
    const other = { uuid: 'c7a5fdbd-cdaf-9455-926a-d65c16db1809', name: 'db1' };
    expect(alertMatch(rules, denial('stale-label', other))).toBeNull();
    expect(alertMatch(rules, denial('policy', other))).toMatchObject({ rule: 'kind', threshold: 50 });
    expect(alertMatch(parseAlertRules({ critical: [other.uuid] }), denial('policy', other))?.rule).toBe('critical-vm');
  });

  it('reads spans, receivers, the link base and retries', () => {
    const rules = parseAlertRules({
      window: '10m',
      groupWait: '30s',
      link: 'https://hv1.example:8785/',
      retry: { first: '2s', max: '1m', giveUp: '2h' },
      receivers: [
        { type: 'webhook', url: 'https://siem.example/in', headers: { Authorization: 'Bearer x' } },
        { name: 'am', type: 'alertmanager', url: 'http://127.0.0.1:9093' },
      ],
    });
    expect(rules).toMatchObject({
      windowMs: 600_000,
      groupWaitMs: 30_000,
      linkBase: 'https://hv1.example:8785',
      retry: { firstMs: 2000, maxMs: 60_000, giveUpMs: 7_200_000 },
    });
    expect(rules.receivers.map((r) => [r.name, r.type, r.url])).toEqual([
      ['webhook-1', 'webhook', 'https://siem.example/in'],
      ['am', 'alertmanager', 'http://127.0.0.1:9093/'],
    ]);
  });

  it.each([
    [[], 'must be a JSON object'],
    [{ windw: '5m' }, 'alert config: windw is not an alert setting'],
    [{ window: 300 }, 'window must be a span'],
    [{ window: '0s' }, 'window must be longer than 0'],
    [{ kinds: ['cross_vm'] }, 'kinds[0] "cross_vm" is not a denial kind'],
    [{ thresholds: { policy: 0 } }, 'thresholds.policy must be a whole number'],
    [{ thresholds: { nope: 3 } }, 'thresholds.nope "nope" is not a denial kind'],
    [{ critical: 'db1' }, 'critical must be a list'],
    [{ receivers: [{ type: 'email', url: 'http://x' }] }, 'receivers[0].type is "email"'],
    [{ receivers: [{ type: 'webhook', url: 'file:///etc/passwd' }] }, 'must be http:// or https://, not file:'],
    [{ receivers: [{ type: 'webhook', url: 'not a url' }] }, 'receivers[0].url is not a URL'],
    [
      { receivers: [{ type: 'webhook', url: 'http://x', headers: { 'X-A': 'a\r\nHost: evil' } }] },
      'headers.X-A is not a header',
    ],
    [{ receivers: [{ type: 'webhook', url: 'http://x', secret: 1 }] }, 'receivers[0].secret is not a receiver setting'],
    [
      {
        receivers: [
          { name: 'a', type: 'webhook', url: 'http://x' },
          { name: 'a', type: 'slack', url: 'http://y' },
        ],
      },
      'receivers[1].name a is used twice',
    ],
    [{ retry: { first: '1s', every: '2s' } }, 'retry.every is not a retry setting'],
  ])('refuses %j', (json, message) => {
    expect(() => parseAlertRules(json)).toThrow(message);
  });

  it('the next alert of a group waits the group wait, and a window after the previous', () => {
    const rules = { ...DEFAULT_ALERT_RULES, groupWaitMs: 10_000, windowMs: 300_000 };
    expect(alertNotBefore(rules, 1_000_000, null)).toBe(1_010_000);
    expect(alertNotBefore(rules, 1_000_000, 900_000)).toBe(1_200_000);
    expect(alertNotBefore(rules, 1_000_000, 100_000)).toBe(1_010_000);
  });

  it('retries double from the first delay up to the most', () => {
    const rules = { ...DEFAULT_ALERT_RULES, retry: { firstMs: 1000, maxMs: 300_000, giveUpMs: 1 } };
    expect([1, 2, 3, 9, 10, 1000].map((n) => retryDelay(rules, n))).toEqual([
      1000, 2000, 4000, 256_000, 300_000, 300_000,
    ]);
  });
});
