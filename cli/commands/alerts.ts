/**
 * `svirt-audit alerts`: the alert outbox, newest first: what was sent, what is pending
 * (with its attempts and last error) and what was given up, per receiver.
 */

import { alertJson, type AlertListing, type AlertState, listAlerts } from '../../store/alert-outbox.js';
import { formatTime } from '../../core/time-spec.js';
import { type CommonOptions, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../table.js';

interface AlertsOptions extends CommonOptions {
  state?: AlertState;
  since?: number;
  limit: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function listingJson(l: AlertListing) {
  return {
    ...alertJson(l.alert, null),
    state: l.state,
    openedAt: iso(l.alert.openedAt),
    dueAt: iso(l.alert.dueAt),
    deliveries: l.deliveries.map((d) => ({
      receiver: d.receiver,
      state: d.state,
      attempts: d.attempts,
      nextAttemptAt: iso(d.nextAttemptAt),
      sentAt: iso(d.sentAt),
      lastError: d.lastError,
    })),
  };
}

function deliveriesText(l: AlertListing): string {
  if (l.state === 'collecting') return `collecting (${l.alert.count} of ${l.alert.threshold})`;
  if (l.deliveries.length === 0) return 'no receiver';
  return l.deliveries
    .map((d) => `${d.receiver}: ${d.state}${d.state === 'sent' ? '' : ` after ${d.attempts} attempts`}`)
    .join('; ');
}

export async function run(options: AlertsOptions, _args: string[], io: CliIo): Promise<number> {
  const store = openCommandStore(options, io, { readonly: true });
  try {
    const alerts = listAlerts(store, {
      ...(options.state !== undefined && { state: options.state }),
      ...(options.since !== undefined && { since: options.since }),
      limit: options.limit,
    });
    if (options.json) {
      printJson(io, alerts.map(listingJson));
      return 0;
    }
    if (alerts.length === 0) {
      io.stdout.write(
        options.state === undefined && options.since === undefined
          ? 'no alerts yet: serve raises one for every cross-vm and stale-label denial (docs/alerts.md)\n'
          : 'no alerts match\n',
      );
      return 0;
    }
    io.stdout.write(
      formatTable(
        ['OPENED', 'STATE', 'KIND', 'VM', 'HOST', 'COUNT', 'FIRST', 'LAST', 'RECEIVERS'],
        alerts.map((l) => [
          formatTime(l.alert.openedAt),
          l.state,
          l.alert.kind,
          l.alert.vmName ?? l.alert.sourceLabel ?? '-',
          l.alert.host,
          String(l.alert.count),
          formatTime(l.alert.firstTime),
          formatTime(l.alert.lastTime),
          deliveriesText(l),
        ]),
      ),
    );
    const failed = alerts.filter((l) => l.state === 'failed');
    for (const l of failed)
      for (const d of l.deliveries.filter((x) => x.state === 'failed'))
        io.stdout.write(`\n${l.alert.key} to ${d.receiver} failed: ${d.lastError ?? 'unknown error'}`);
    if (failed.length > 0) io.stdout.write('\n');
    return 0;
  } finally {
    store.close();
  }
}
