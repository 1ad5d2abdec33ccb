/**
 * An alert as each receiver takes it: our JSON (the generic webhook), Prometheus
 * Alertmanager's `POST /api/v2/alerts` body, and a Slack-compatible incoming webhook.
 * Pure formatting. Every payload carries the alert's idempotency key, the same on every
 * attempt, so a receiver that got an alert twice (we crashed between its answer and our
 * commit) can drop the second. Names come from domain XML and the audit log: control
 * characters are shown escaped, and Slack's `&`, `<`, `>` are escaped so a name cannot
 * become a mention or a link.
 */

import type { AlertMatch } from './alert-rules.js';
import { showControlCharacters } from './control-characters.js';
import type { DenialKind } from './denial-kind.js';

export interface VmRef {
  uuid: string;
  name: string;
}

/** An alert as the outbox holds it and `svirt-audit alerts --json` prints it. */
export interface AlertJson {
  /** Idempotency key: the same for every attempt and receiver of this alert. */
  key: string;
  rule: AlertMatch['rule'];
  kind: DenialKind;
  severity: 'critical' | 'warning';
  host: string;
  /** The VM whose process was denied; null when no allocation held its label. */
  vm: VmRef | null;
  /** The denied process's label (SELinux context or AppArmor profile). */
  sourceLabel: string | null;
  /** The VMs whose files were reached for (cross-vm, stale-label), at most 20. */
  targetVms: VmRef[];
  count: number;
  firstTime: string;
  lastTime: string;
  firstDenialId: number;
  lastDenialId: number;
  links: { denial: string | null; vm: string | null };
  summary: string;
}

export const ALERT_SCHEMA_VERSION = 'svirt-audit-alert/1';

export function alertSeverity(kind: DenialKind, rule: AlertMatch['rule']): AlertJson['severity'] {
  return rule === 'critical-vm' || kind === 'cross-vm' || kind === 'stale-label' ? 'critical' : 'warning';
}

const vmText = (vm: VmRef | null, label: string | null) => (vm ? vm.name : `an unknown VM (${label ?? 'no label'})`);

/** One line saying what happened; plain text, control characters escaped. */
export function alertSummary(a: Omit<AlertJson, 'summary' | 'links' | 'key' | 'severity'>): string {
  const targets = a.targetVms.length > 0 ? ` on files of ${a.targetVms.map((t) => t.name).join(', ')}` : '';
  const span = a.firstTime === a.lastTime ? `at ${a.firstTime}` : `from ${a.firstTime} to ${a.lastTime}`;
  const text = `${a.kind}: ${a.count} denial${a.count === 1 ? '' : 's'} of ${vmText(a.vm, a.sourceLabel)} on ${a.host}${targets}, ${span}`;
  return showControlCharacters(text);
}

/** The links of an alert under a base URL (none without one). */
export function alertLinks(base: string | null, firstDenialId: number, vm: VmRef | null): AlertJson['links'] {
  if (base === null) return { denial: null, vm: null };
  return {
    denial: `${base}/v1/denials/${firstDenialId}`,
    vm: vm ? `${base}/v1/vms/${encodeURIComponent(vm.uuid)}/summary` : null,
  };
}

/** The generic webhook's body. */
export function webhookPayload(a: AlertJson): Record<string, unknown> {
  return { version: ALERT_SCHEMA_VERSION, idempotencyKey: a.key, alert: a };
}

/**
 * Alertmanager's body: one alert, identified by its labels (host, vm, kind), so
 * Alertmanager's own grouping and silences apply. It resolves a window after it was sent
 * (or after its last denial, if later) unless the group's next alert refreshes it: an
 * alert sent late, after a receiver outage, must still fire rather than arrive resolved.
 */
export function alertmanagerPayload(a: AlertJson, windowMs: number, now: number): Record<string, unknown>[] {
  const labels: Record<string, string> = {
    alertname: 'SvirtAuditDenial',
    kind: a.kind,
    host: a.host,
    severity: a.severity,
    vm: a.vm?.name ?? '',
    vm_uuid: a.vm?.uuid ?? '',
  };
  const annotations: Record<string, string> = {
    summary: a.summary,
    count: String(a.count),
    first_time: a.firstTime,
    last_time: a.lastTime,
    target_vms: a.targetVms.map((t) => t.name).join(', '),
    idempotency_key: a.key,
    ...(a.links.vm !== null && { vm_link: a.links.vm }),
  };
  return [
    {
      labels,
      annotations,
      startsAt: a.firstTime,
      endsAt: new Date(Math.max(Date.parse(a.lastTime), now) + windowMs).toISOString(),
      ...(a.links.denial !== null && { generatorURL: a.links.denial }),
    },
  ];
}

/** Slack's mrkdwn escapes exactly these three. */
const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack-compatible incoming webhook's body (Mattermost and Rocket.Chat take it too). */
export function slackPayload(a: AlertJson): Record<string, unknown> {
  const icon = a.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const link = a.links.denial === null ? '' : ` <${a.links.denial}|explain>`;
  return {
    text: `${icon} svirt-audit ${slackText(a.summary)}${link}`,
    // Slack shows text; the key lets a relay that reads the body drop a repeat.
    metadata: { event_type: 'svirt_audit_alert', event_payload: { idempotency_key: a.key } },
  };
}
