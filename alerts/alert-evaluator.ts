/**
 * New denials into the alert outbox: read the denials stored after the outbox's position,
 * match each against the rules (core/alert-rules.ts) and add it to its group's collecting
 * alert or open one, then move the position, all in one transaction. Then alerts whose
 * time has come become due for every receiver. A crash at any point repeats or loses
 * nothing: the position and the alerts commit together.
 */

import { createHash } from 'node:crypto';
import type { VmRef } from '../core/alert-payloads.js';
import { alertMatch, alertNotBefore, type AlertRules } from '../core/alert-rules.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import {
  addToAlert,
  collectingAlert,
  hasCollectingAlerts,
  insertAlert,
  lastNotBefore,
  promoteDueAlerts,
} from '../store/alert-outbox.js';
import { feedPosition, saveFeedPosition, startFeed } from '../store/feed-positions.js';
import { denialsAfter, latestDenialId } from '../store/denial-query.js';
import type { Store } from '../store/store.js';

export const ALERT_FEED = 'alerts';
const MAX_TARGETS = 20;

const vmRef = (a: { uuid: string; name: string } | null | undefined): VmRef | null =>
  a ? { uuid: a.uuid, name: a.name } : null;

/** The other VMs a denial reached for: the target's holder then, or its former holder. */
function targetVm(d: AttributedDenial): VmRef | null {
  return vmRef(d.target.allocation ?? d.target.formerHolder);
}

function withTarget(targets: readonly VmRef[], t: VmRef | null): VmRef[] {
  if (t === null || targets.length >= MAX_TARGETS || targets.some((x) => x.uuid === t.uuid)) return [...targets];
  return [...targets, t];
}

/** Same alert, same key, on every attempt and receiver; another alert, another key. */
function idempotencyKey(groupKey: string, firstDenialId: number, openedAt: number): string {
  return createHash('sha256').update(`${groupKey}\u0000${firstDenialId}\u0000${openedAt}`).digest('hex').slice(0, 32);
}

export interface EvaluationResult {
  /** Denials read from the store. */
  read: number;
  /** Denials that matched a rule. */
  matched: number;
  /** Denials older than the rules' maxAge: history, no alert. */
  history: number;
  /** Alerts that became due. */
  due: number;
}

/**
 * One step: up to `batch` new denials into the outbox, then due alerts promoted. The first
 * run starts after `firstPosition` (serve passes the newest denial id when it started;
 * default the newest now): what was stored before raises no alert, nor does a denial
 * older than `maxAge` (use `summary` or `export` for history).
 */
export function evaluateAlerts(
  store: Store,
  rules: AlertRules,
  now: number,
  options: { batch?: number; firstPosition?: number } = {},
): EvaluationResult {
  const receivers = rules.receivers.map((r) => r.name);
  // Each tick asks; most find nothing to do, and need not take the write lock to say so.
  const read = feedPosition(store, ALERT_FEED);
  if (read !== null && latestDenialId(store) <= read && !hasCollectingAlerts(store))
    return { read: 0, matched: 0, history: 0, due: 0 };
  return store.immediate(() => {
    const position = startFeed(store, ALERT_FEED, options.firstPosition);
    const denials = denialsAfter(store, position, options.batch ?? 1000);
    let matched = 0;
    let history = 0;
    for (const d of denials) {
      if (d.time < now - rules.maxAgeMs) {
        history++;
        continue;
      }
      const source = vmRef(d.source.allocation);
      const sourceLabel = d.source.context ?? d.apparmor?.profile ?? null;
      const match = alertMatch(rules, { kind: d.kind, host: d.host, source: { vm: source, label: sourceLabel } });
      if (match === null) continue;
      matched++;
      const open = collectingAlert(store, match.groupKey);
      if (open) {
        addToAlert(store, open.id, {
          time: d.time,
          denialId: d.id,
          targetVms: withTarget(open.targetVms, targetVm(d)),
        });
        continue;
      }
      insertAlert(store, {
        key: idempotencyKey(match.groupKey, d.id, now),
        groupKey: match.groupKey,
        rule: match.rule,
        kind: d.kind,
        host: d.host,
        vm: source,
        sourceLabel,
        targetVms: withTarget([], targetVm(d)),
        threshold: match.threshold,
        time: d.time,
        denialId: d.id,
        openedAt: now,
        notBefore: alertNotBefore(rules, now, lastNotBefore(store, match.groupKey)),
      });
    }
    if (denials.length > 0) saveFeedPosition(store, ALERT_FEED, (denials[denials.length - 1] as AttributedDenial).id);
    const due = promoteDueAlerts(store, now, rules.windowMs, receivers);
    return { read: denials.length, matched, history, due };
  });
}
