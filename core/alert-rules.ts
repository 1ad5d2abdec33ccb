/**
 * Which denials raise an alert, and how alerts are grouped: pure rules read from the alert
 * config (`serve --alerts FILE`, docs/alerts.md). By default every `cross-vm` and
 * `stale-label` denial alerts; a VM marked critical alerts on any denial; other kinds alert
 * when their count in one window reaches a threshold. One alert per host, VM and kind per
 * window: the first denial opens it, it is sent `groupWait` later (or when its threshold is
 * reached), and the group's next alert is sent no sooner than one window after it.
 */

import { doublingDelay } from './back-off.js';
import { DENIAL_KINDS, type DenialKind } from './denial-kind.js';
import { SvirtAuditError } from './errors.js';
import { parseSpan } from './time-spec.js';

export type ReceiverType = 'webhook' | 'alertmanager' | 'slack';

export interface ReceiverConfig {
  /** Names the receiver in the outbox and in `svirt-audit alerts`; unique. */
  name: string;
  type: ReceiverType;
  url: string;
  /** Extra request headers (e.g. Authorization for a webhook). */
  headers: Record<string, string>;
}

export interface AlertRules {
  windowMs: number;
  groupWaitMs: number;
  /** Denials older than this when read are history (an old log read, an ingest): no alert. */
  maxAgeMs: number;
  /** Denials of a kind in one window that raise an alert; a kind absent never alerts alone. */
  thresholds: Partial<Record<DenialKind, number>>;
  /** VM names or uuids whose every denial alerts. */
  critical: ReadonlySet<string>;
  receivers: ReceiverConfig[];
  /** Base of the links in each alert (the API, and the dashboard where there is one). */
  linkBase: string | null;
  /** Retries: first delay, doubling up to the most, given up after `giveUpMs`. */
  retry: { firstMs: number; maxMs: number; giveUpMs: number };
}

export const DEFAULT_ALERT_RULES: AlertRules = {
  windowMs: 300_000,
  groupWaitMs: 10_000,
  maxAgeMs: 86_400_000,
  thresholds: { 'cross-vm': 1, 'stale-label': 1 },
  critical: new Set(),
  receivers: [],
  linkBase: null,
  retry: { firstMs: 1000, maxMs: 300_000, giveUpMs: 86_400_000 },
};

/** What a denial needs for the rules: its kind, host and the VM it came from. */
export interface AlertableDenial {
  kind: DenialKind;
  host: string;
  source: { vm: { uuid: string; name: string } | null; label: string | null };
}

export interface AlertMatch {
  rule: 'kind' | 'critical-vm';
  threshold: number;
  /** host, VM (uuid, else the source label) and kind: one open alert per group. */
  groupKey: string;
}

export function alertMatch(rules: AlertRules, d: AlertableDenial): AlertMatch | null {
  const vm = d.source.vm;
  const critical = vm !== null && (rules.critical.has(vm.name) || rules.critical.has(vm.uuid));
  const threshold = critical ? 1 : rules.thresholds[d.kind];
  if (threshold === undefined) return null;
  return {
    rule: critical && rules.thresholds[d.kind] !== 1 ? 'critical-vm' : 'kind',
    threshold,
    groupKey: [d.host, vm?.uuid ?? `label:${d.source.label ?? ''}`, d.kind].join('\u0000'),
  };
}

/** Earliest send time of a group's new alert: after the group wait, a window after the previous. */
export function alertNotBefore(rules: AlertRules, now: number, previousNotBefore: number | null): number {
  return Math.max(now + rules.groupWaitMs, previousNotBefore === null ? 0 : previousNotBefore + rules.windowMs);
}

/** Delay before retry number `attempt` (1-based): doubling from the first, capped. */
export function retryDelay(rules: AlertRules, attempt: number): number {
  return doublingDelay(attempt, rules.retry.firstMs, rules.retry.maxMs);
}

// ---- The config file ----

const bad = (where: string, what: string, hint: string) =>
  new SvirtAuditError('BAD_INPUT', `alert config: ${where} ${what}`, hint);

function span(v: unknown, where: string): number {
  if (typeof v !== 'string') throw bad(where, 'must be a span like "5m"', 'write a number and a unit: 30s, 5m, 1h');
  const ms = parseSpan(v);
  if (ms <= 0) throw bad(where, 'must be longer than 0', 'e.g. "5m"');
  return ms;
}

function httpUrl(v: unknown, where: string): string {
  let url: URL;
  try {
    url = new URL(String(v));
  } catch {
    throw bad(where, `is not a URL: ${JSON.stringify(v)}`, 'e.g. "http://127.0.0.1:9093"');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw bad(where, `must be http:// or https://, not ${url.protocol}`, 'receivers are reached over HTTP(S)');
  return url.toString();
}

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function receiver(v: unknown, i: number, names: Set<string>): ReceiverConfig {
  const where = `receivers[${i}]`;
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw bad(where, 'must be an object', '{"type": "webhook", "url": "https://…"}');
  const r = v as Record<string, unknown>;
  for (const key of Object.keys(r))
    if (!['name', 'type', 'url', 'headers'].includes(key))
      throw bad(
        `${where}.${key}`,
        'is not a receiver setting',
        'a receiver has type, url, and optionally name and headers',
      );
  if (r.type !== 'webhook' && r.type !== 'alertmanager' && r.type !== 'slack')
    throw bad(`${where}.type`, `is ${JSON.stringify(r.type)}`, 'one of "webhook", "alertmanager", "slack"');
  const url = httpUrl(r.url, `${where}.url`);
  const name = r.name === undefined ? `${r.type}-${i + 1}` : String(r.name);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw bad(
      `${where}.name`,
      `${JSON.stringify(name)} is not a name`,
      'letters, digits, "_", "." and "-", at most 64',
    );
  if (names.has(name)) throw bad(`${where}.name`, `${name} is used twice`, 'give each receiver its own name');
  names.add(name);
  const headers: Record<string, string> = {};
  if (r.headers !== undefined) {
    if (r.headers === null || typeof r.headers !== 'object' || Array.isArray(r.headers))
      throw bad(`${where}.headers`, 'must be an object of strings', '{"Authorization": "Bearer …"}');
    for (const [k, hv] of Object.entries(r.headers as Record<string, unknown>)) {
      if (!HEADER_NAME.test(k) || typeof hv !== 'string' || /[\r\n\0]/.test(hv))
        throw bad(`${where}.headers.${k}`, 'is not a header a request may carry', 'a token name and a one-line value');
      headers[k] = hv;
    }
  }
  return { name, type: r.type, url, headers };
}

/**
 * The rules from the config file's JSON. Unknown keys and bad values are refused with the
 * key named: a typo in an alert config must not silently turn alerts off.
 */
export function parseAlertRules(json: unknown): AlertRules {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw bad('', 'must be a JSON object', 'see docs/alerts.md for an example');
  const c = json as Record<string, unknown>;
  const known = ['window', 'groupWait', 'maxAge', 'kinds', 'thresholds', 'critical', 'receivers', 'link', 'retry'];
  for (const key of Object.keys(c))
    if (!known.includes(key)) throw bad(key, 'is not an alert setting', `the settings are ${known.join(', ')}`);
  const rules: AlertRules = { ...DEFAULT_ALERT_RULES, thresholds: { ...DEFAULT_ALERT_RULES.thresholds } };
  if (c.window !== undefined) rules.windowMs = span(c.window, 'window');
  if (c.groupWait !== undefined) rules.groupWaitMs = span(c.groupWait, 'groupWait');
  if (c.maxAge !== undefined) rules.maxAgeMs = span(c.maxAge, 'maxAge');
  const kind = (k: unknown, where: string): DenialKind => {
    if (!DENIAL_KINDS.includes(k as DenialKind))
      throw bad(where, `${JSON.stringify(k)} is not a denial kind`, `kinds are ${DENIAL_KINDS.join(', ')}`);
    return k as DenialKind;
  };
  if (c.kinds !== undefined) {
    if (!Array.isArray(c.kinds)) throw bad('kinds', 'must be a list of kinds', '["cross-vm", "stale-label"]');
    rules.thresholds = {};
    for (const [i, k] of c.kinds.entries()) rules.thresholds[kind(k, `kinds[${i}]`)] = 1;
  }
  if (c.thresholds !== undefined) {
    if (c.thresholds === null || typeof c.thresholds !== 'object' || Array.isArray(c.thresholds))
      throw bad('thresholds', 'must map kinds to counts', '{"policy": 100}');
    for (const [k, n] of Object.entries(c.thresholds as Record<string, unknown>)) {
      if (!Number.isSafeInteger(n) || (n as number) < 1)
        throw bad(`thresholds.${k}`, 'must be a whole number of denials, 1 or more', '{"policy": 100}');
      rules.thresholds[kind(k, `thresholds.${k}`)] = n as number;
    }
  }
  if (c.critical !== undefined) {
    if (!Array.isArray(c.critical) || !c.critical.every((v) => typeof v === 'string' && v !== ''))
      throw bad('critical', 'must be a list of VM names or uuids', '["db1", "c7a5fdbd-cdaf-9455-926a-d65c16db1809"]');
    rules.critical = new Set(c.critical as string[]);
  }
  if (c.receivers !== undefined) {
    if (!Array.isArray(c.receivers)) throw bad('receivers', 'must be a list', 'see docs/alerts.md');
    const names = new Set<string>();
    rules.receivers = c.receivers.map((r, i) => receiver(r, i, names));
  }
  if (c.link !== undefined) rules.linkBase = httpUrl(c.link, 'link').replace(/\/+$/, '');
  if (c.retry !== undefined) {
    if (c.retry === null || typeof c.retry !== 'object' || Array.isArray(c.retry))
      throw bad('retry', 'must be an object', '{"first": "1s", "max": "5m", "giveUp": "24h"}');
    const r = c.retry as Record<string, unknown>;
    for (const key of Object.keys(r))
      if (!['first', 'max', 'giveUp'].includes(key))
        throw bad(`retry.${key}`, 'is not a retry setting', 'first, max, giveUp');
    rules.retry = {
      firstMs: r.first === undefined ? rules.retry.firstMs : span(r.first, 'retry.first'),
      maxMs: r.max === undefined ? rules.retry.maxMs : span(r.max, 'retry.max'),
      giveUpMs: r.giveUp === undefined ? rules.retry.giveUpMs : span(r.giveUp, 'retry.giveUp'),
    };
  }
  return rules;
}
