/**
 * Prometheus metrics. Counters count what this process saw since it started (the usual
 * Prometheus convention); gauges are read from the store and the collector when scraped.
 */

import type { AttributedDenial } from '../core/attributed-denial.js';
import type { RetentionStatus } from '../retention/runner.js';
import type { ShipStatus } from '../fleet/shipper.js';
import type { AlertingStatus } from '../alerts/alerting.js';
import type { SyslogStatus } from '../syslog/syslog-forwarder.js';

export class Metrics {
  readonly #denials = new Map<string, number>();
  recordsIngested = 0;
  unparsedLines = 0;
  /** Streams and reports dropped because their client stopped reading (api/slow-clients.ts). */
  slowClientsDropped = 0;

  countDenial(d: AttributedDenial): void {
    const key = `${d.kind}\u0000${d.source.allocation?.name ?? ''}`;
    this.#denials.set(key, (this.#denials.get(key) ?? 0) + 1);
  }

  render(gauges: {
    lagBytes: number;
    lagSeconds: number;
    allocationsOpen: number;
    storedDenials: number;
    eventsBelowHorizon: number;
    retention?: RetentionStatus;
    shipping?: ShipStatus;
    alerting?: AlertingStatus;
    syslog?: SyslogStatus;
  }): string {
    const r = gauges.retention;
    const ship = gauges.shipping;
    const alerts = gauges.alerting;
    const syslog = gauges.syslog;
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const lines = [
      ...metric(
        'denials_total',
        'counter',
        'Denials stored since start, by kind and source VM ("" when unattributed).',
        [...this.#denials].map(([key, n]) => {
          const [kind, vm] = key.split('\u0000');
          return [`{kind="${esc(kind ?? '')}",vm="${esc(vm ?? '')}"}`, n] as const;
        }),
      ),
      ...metric(
        'records_ingested_total',
        'counter',
        'Audit records read by the collector since start.',
        this.recordsIngested,
      ),
      ...metric(
        'unparsed_lines_total',
        'counter',
        'Lines the collector could not read, kept with a reason.',
        this.unparsedLines,
      ),
      ...metric(
        'slow_clients_dropped_total',
        'counter',
        'Streams and reports dropped because the client stopped reading.',
        this.slowClientsDropped,
      ),
      ...metric('collector_lag_bytes', 'gauge', 'Bytes of the followed log not yet stored.', gauges.lagBytes),
      ...metric(
        'collector_lag_seconds',
        'gauge',
        'Age of the newest stored event while bytes are unread.',
        gauges.lagSeconds,
      ),
      ...metric('allocations_open', 'gauge', 'Allocations open now.', gauges.allocationsOpen),
      ...metric('denials_stored', 'gauge', 'Denials in the store.', gauges.storedDenials),
      ...metric(
        'events_below_horizon_total',
        'counter',
        'Events read again from an old log after they were pruned, not stored.',
        gauges.eventsBelowHorizon,
      ),
      ...(r
        ? [
            ...metric(
              'store_used_bytes',
              'gauge',
              'Bytes the database pages in use take (what pruning reduces).',
              r.usedBytes,
            ),
            ...metric('store_file_bytes', 'gauge', 'Size of the database file.', r.fileBytes),
            ...metric(
              'store_max_bytes',
              'gauge',
              'The bound serve keeps the store under (--max-size); absent without one.',
              r.maxBytes === null ? [] : r.maxBytes,
            ),
            ...metric('pruned_denials_total', 'counter', 'Denials removed by retention since start.', r.prunedDenials),
            ...metric('pruned_events_total', 'counter', 'Events removed by retention since start.', r.prunedEvents),
          ]
        : []),
      ...(ship
        ? [
            ...metric('ship_lag_rows', 'gauge', 'Rows stored here that the fleet does not have yet.', ship.lagRows),
            ...metric(
              'ship_lag_seconds',
              'gauge',
              'Audit time between the newest event here and the newest shipped one.',
              ship.lagSeconds,
            ),
            ...metric(
              'ship_failures',
              'gauge',
              'Consecutive failed attempts to ship (0 when the last worked).',
              ship.failures,
            ),
            ...metric(
              'shipped_rows_total',
              'counter',
              'Rows the fleet stored from this process since start.',
              ship.shipped.rows,
            ),
          ]
        : []),
      ...(alerts
        ? metric(
            'alert_deliveries',
            'gauge',
            'Alert deliveries in the outbox by state: pending (being tried), failed (given up), sent.',
            (['pending', 'failed', 'sent'] as const).map((s) => [`{state="${s}"}`, alerts[s]] as const),
          )
        : []),
      ...(syslog
        ? [
            ...metric('syslog_forwarded_total', 'counter', 'Denials sent to syslog since start.', syslog.forwarded),
            ...metric('syslog_behind', 'gauge', 'Denials stored and not yet sent to syslog.', syslog.behind),
            ...metric(
              'syslog_failures',
              'gauge',
              'Consecutive failed attempts to send to syslog (0 when the last worked).',
              syslog.failures,
            ),
          ]
        : []),
    ];
    return `${lines.join('\n')}\n`;
  }
}

/** One metric in the Prometheus text format: HELP, TYPE, then a sample per label set (or one without labels). */
function metric(
  name: string,
  type: 'counter' | 'gauge',
  help: string,
  samples: number | readonly (readonly [labels: string, value: number])[],
): string[] {
  const full = `svirt_audit_${name}`;
  const rows = typeof samples === 'number' ? [['', samples] as const] : samples;
  return [`# HELP ${full} ${help}`, `# TYPE ${full} ${type}`, ...rows.map(([labels, v]) => `${full}${labels} ${v}`)];
}
