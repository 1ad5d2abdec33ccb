/**
 * The alert outbox's SQL (tables of migration 0013): alerts collecting
 * denials, their deliveries per receiver, and the listing `svirt-audit alerts` prints.
 * Callers run the writes inside one transaction with the denials read (alerts/).
 */

import type { AlertJson, VmRef } from '../core/alert-payloads.js';
import { alertLinks, alertSeverity, alertSummary } from '../core/alert-payloads.js';
import type { AlertMatch } from '../core/alert-rules.js';
import type { DenialKind } from '../core/denial-kind.js';
import type { Store } from './store.js';

export interface AlertRow {
  id: number;
  key: string;
  rule: AlertMatch['rule'];
  kind: DenialKind;
  host: string;
  vmUuid: string | null;
  vmName: string | null;
  sourceLabel: string | null;
  targetVms: VmRef[];
  threshold: number;
  count: number;
  firstTime: number;
  lastTime: number;
  firstDenialId: number;
  lastDenialId: number;
  openedAt: number;
  notBefore: number;
  dueAt: number | null;
  state: 'collecting' | 'due';
}

/** The alert's columns as AlertRow names them, of table alias `t`. */
const alertColumns = (t: string) =>
  `${t}.id, ${t}.key, ${t}.rule, ${t}.kind, ${t}.host, ${t}.vm_uuid AS vmUuid, ${t}.vm_name AS vmName,
   ${t}.source_label AS sourceLabel, ${t}.target_vms AS targetVms, ${t}.threshold, ${t}.count,
   ${t}.first_time AS firstTime, ${t}.last_time AS lastTime, ${t}.first_denial_id AS firstDenialId,
   ${t}.last_denial_id AS lastDenialId, ${t}.opened_at AS openedAt, ${t}.not_before AS notBefore,
   ${t}.due_at AS dueAt, ${t}.state`;
const ALERT_COLUMNS = alertColumns('alert');

function toAlertRow(row: Record<string, unknown>): AlertRow {
  return { ...(row as unknown as AlertRow), targetVms: JSON.parse(row.targetVms as string) as VmRef[] };
}

/** The group's alert still collecting denials, if any. */
export function collectingAlert(store: Store, groupKey: string): AlertRow | undefined {
  const row = store
    .statement(`SELECT ${ALERT_COLUMNS} FROM alert WHERE group_key = ? AND state = 'collecting'`)
    .get(groupKey) as Record<string, unknown> | undefined;
  return row && toAlertRow(row);
}

/** When the group's latest due alert could first be sent (its next waits a window after). */
export function lastNotBefore(store: Store, groupKey: string): number | null {
  const row = store
    .statement(`SELECT not_before FROM alert WHERE group_key = ? AND state = 'due' ORDER BY id DESC LIMIT 1`)
    .get(groupKey) as { not_before: number } | undefined;
  return row?.not_before ?? null;
}

export interface NewAlert {
  key: string;
  groupKey: string;
  rule: AlertMatch['rule'];
  kind: DenialKind;
  host: string;
  vm: VmRef | null;
  sourceLabel: string | null;
  targetVms: VmRef[];
  threshold: number;
  time: number;
  denialId: number;
  openedAt: number;
  notBefore: number;
}

export function insertAlert(store: Store, a: NewAlert): void {
  store
    .statement(
      `INSERT INTO alert (key, group_key, rule, kind, host, vm_uuid, vm_name, source_label, target_vms, threshold,
         count, first_time, last_time, first_denial_id, last_denial_id, opened_at, not_before, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, 'collecting')`,
    )
    .run(
      a.key,
      a.groupKey,
      a.rule,
      a.kind,
      a.host,
      a.vm?.uuid ?? null,
      a.vm?.name ?? null,
      a.sourceLabel,
      JSON.stringify(a.targetVms),
      a.threshold,
      a.time,
      a.time,
      a.denialId,
      a.denialId,
      a.openedAt,
      a.notBefore,
    );
}

/** One more denial in a collecting alert. */
export function addToAlert(store: Store, id: number, d: { time: number; denialId: number; targetVms: VmRef[] }): void {
  store
    .statement(
      `UPDATE alert SET count = count + 1, first_time = min(first_time, ?), last_time = max(last_time, ?),
         last_denial_id = ?, target_vms = ? WHERE id = ?`,
    )
    .run(d.time, d.time, d.denialId, JSON.stringify(d.targetVms), id);
}

/**
 * Alerts that reached their threshold and their time become due, with a pending delivery
 * for each receiver; alerts whose window passed below their threshold are dropped.
 * Returns how many became due.
 */
export function promoteDueAlerts(store: Store, now: number, windowMs: number, receivers: readonly string[]): number {
  const due = store
    .statement(`SELECT id FROM alert WHERE state = 'collecting' AND count >= threshold AND not_before <= ?`)
    .all(now) as { id: number }[];
  for (const { id } of due) {
    store.statement(`UPDATE alert SET state = 'due', due_at = ? WHERE id = ?`).run(now, id);
    for (const receiver of receivers)
      store
        .statement(
          `INSERT INTO alert_delivery (alert_id, receiver, state, next_attempt_at) VALUES (?, ?, 'pending', ?)`,
        )
        .run(id, receiver, now);
  }
  store
    .statement(`DELETE FROM alert WHERE state = 'collecting' AND count < threshold AND opened_at + ? <= ?`)
    .run(windowMs, now);
  return due.length;
}

/** Whether any alert is still collecting (it may come due or expire as time passes). */
export function hasCollectingAlerts(store: Store): boolean {
  return store.statement(`SELECT 1 FROM alert WHERE state = 'collecting' LIMIT 1`).get() !== undefined;
}

/** When the soonest collecting alert that reached its threshold may be sent; null when none waits. */
export function nextAlertDue(store: Store): number | null {
  const row = store
    .statement(`SELECT min(not_before) AS at FROM alert WHERE state = 'collecting' AND count >= threshold`)
    .get() as { at: number | null };
  return row.at;
}

export interface PendingDelivery {
  alert: AlertRow;
  attempts: number;
}

/** A receiver's deliveries whose next attempt has come, oldest alert first. */
export function dueDeliveries(store: Store, receiver: string, now: number, limit: number): PendingDelivery[] {
  const rows = store
    .statement(
      `SELECT ${alertColumns('a')}, d.attempts AS attempts
       FROM alert_delivery d JOIN alert a ON a.id = d.alert_id
       WHERE d.receiver = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
       ORDER BY d.alert_id LIMIT ?`,
    )
    .all(receiver, now, limit) as (Record<string, unknown> & { attempts: number })[];
  return rows.map(({ attempts, ...row }) => ({ alert: toAlertRow(row), attempts }));
}

export function markDelivered(store: Store, alertId: number, receiver: string, now: number): void {
  store
    .statement(
      `UPDATE alert_delivery SET state = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL
       WHERE alert_id = ? AND receiver = ?`,
    )
    .run(now, alertId, receiver);
}

/** A failed attempt: tried again at `nextAttemptAt`, or given up (null). */
export function markAttemptFailed(
  store: Store,
  alertId: number,
  receiver: string,
  error: string,
  nextAttemptAt: number | null,
): void {
  store
    .statement(
      `UPDATE alert_delivery SET attempts = attempts + 1, last_error = ?,
         state = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END, next_attempt_at = coalesce(?, next_attempt_at)
       WHERE alert_id = ? AND receiver = ?`,
    )
    .run(error.slice(0, 500), nextAttemptAt, nextAttemptAt, alertId, receiver);
}

/** When the soonest pending delivery of a receiver is next tried (null: none pending). */
export function nextAttemptAt(store: Store, receiver: string): number | null {
  const row = store
    .statement(`SELECT min(next_attempt_at) AS at FROM alert_delivery WHERE receiver = ? AND state = 'pending'`)
    .get(receiver) as { at: number | null };
  return row.at;
}

/** The alert's JSON as every receiver is sent it. */
export function alertJson(a: AlertRow, linkBase: string | null): AlertJson {
  const vm = a.vmUuid === null ? null : { uuid: a.vmUuid, name: a.vmName ?? a.vmUuid };
  const base = {
    rule: a.rule,
    kind: a.kind,
    host: a.host,
    vm,
    sourceLabel: a.sourceLabel,
    targetVms: a.targetVms,
    count: a.count,
    firstTime: new Date(a.firstTime).toISOString(),
    lastTime: new Date(a.lastTime).toISOString(),
    firstDenialId: a.firstDenialId,
    lastDenialId: a.lastDenialId,
  };
  return {
    key: a.key,
    severity: alertSeverity(a.kind, a.rule),
    ...base,
    links: alertLinks(linkBase, a.firstDenialId, vm),
    summary: alertSummary(base),
  };
}

export type AlertState = 'collecting' | 'pending' | 'sent' | 'failed' | 'unrouted';

export interface DeliveryListing {
  receiver: string;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  nextAttemptAt: number | null;
  sentAt: number | null;
  lastError: string | null;
}

export interface AlertListing {
  alert: AlertRow;
  state: AlertState;
  deliveries: DeliveryListing[];
}

/** The state of an alert as a whole: failed if any receiver gave up, pending while one is tried. */
function overallState(a: AlertRow, deliveries: readonly DeliveryListing[]): AlertState {
  if (a.state === 'collecting') return 'collecting';
  if (deliveries.length === 0) return 'unrouted';
  if (deliveries.some((d) => d.state === 'failed')) return 'failed';
  if (deliveries.some((d) => d.state === 'pending')) return 'pending';
  return 'sent';
}

/** Alerts newest first, with their deliveries; filtered by state and opening time. */
export function listAlerts(
  store: Store,
  filter: { state?: AlertState; since?: number; limit: number },
): AlertListing[] {
  const rows = store
    .statement(`SELECT ${ALERT_COLUMNS} FROM alert WHERE opened_at >= ? ORDER BY id DESC`)
    .iterate(filter.since ?? 0) as IterableIterator<Record<string, unknown>>;
  const out: AlertListing[] = [];
  for (const row of rows) {
    const alert = toAlertRow(row);
    const deliveries = store
      .statement(
        `SELECT receiver, state, attempts, CASE WHEN state = 'pending' THEN next_attempt_at END AS nextAttemptAt,
           sent_at AS sentAt, last_error AS lastError FROM alert_delivery WHERE alert_id = ? ORDER BY receiver`,
      )
      .all(alert.id) as DeliveryListing[];
    const state = overallState(alert, deliveries);
    if (filter.state !== undefined && state !== filter.state) continue;
    out.push({ alert, state, deliveries });
    if (out.length >= filter.limit) {
      rows.return?.();
      break;
    }
  }
  return out;
}

/** Deliveries by state, for /metrics and /healthz. */
export function deliveryCounts(store: Store): { pending: number; failed: number; sent: number } {
  const rows = store.statement('SELECT state, count(*) AS n FROM alert_delivery GROUP BY state').all() as {
    state: 'pending' | 'failed' | 'sent';
    n: number;
  }[];
  const counts = { pending: 0, failed: 0, sent: 0 };
  for (const r of rows) counts[r.state] = r.n;
  return counts;
}
