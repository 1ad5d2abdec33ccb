/**
 * Prometheus metrics. Counters count what this process saw since it started (the usual
 * Prometheus convention); gauges are read from the store and the collector when scraped.
 */

import type { AttributedDenial } from '../core/attributed-denial.js';
import type { RetentionStatus } from '../retention/runner.js';

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
  }): string {
    const r = gauges.retention;
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const lines = [
      '# HELP svirt_audit_denials_total Denials stored since start, by kind and source VM ("" when unattributed).',
      '# TYPE svirt_audit_denials_total counter',
      ...[...this.#denials].map(([key, n]) => {
        const [kind, vm] = key.split('\u0000');
        return `svirt_audit_denials_total{kind="${esc(kind ?? '')}",vm="${esc(vm ?? '')}"} ${n}`;
      }),
      '# HELP svirt_audit_records_ingested_total Audit records read by the collector since start.',
      '# TYPE svirt_audit_records_ingested_total counter',
      `svirt_audit_records_ingested_total ${this.recordsIngested}`,
      '# HELP svirt_audit_unparsed_lines_total Lines the collector could not read, kept with a reason.',
      '# TYPE svirt_audit_unparsed_lines_total counter',
      `svirt_audit_unparsed_lines_total ${this.unparsedLines}`,
      '# HELP svirt_audit_slow_clients_dropped_total Streams and reports dropped because the client stopped reading.',
      '# TYPE svirt_audit_slow_clients_dropped_total counter',
      `svirt_audit_slow_clients_dropped_total ${this.slowClientsDropped}`,
      '# HELP svirt_audit_collector_lag_bytes Bytes of the followed log not yet stored.',
      '# TYPE svirt_audit_collector_lag_bytes gauge',
      `svirt_audit_collector_lag_bytes ${gauges.lagBytes}`,
      '# HELP svirt_audit_collector_lag_seconds Age of the newest stored event while bytes are unread.',
      '# TYPE svirt_audit_collector_lag_seconds gauge',
      `svirt_audit_collector_lag_seconds ${gauges.lagSeconds}`,
      '# HELP svirt_audit_allocations_open Allocations open now.',
      '# TYPE svirt_audit_allocations_open gauge',
      `svirt_audit_allocations_open ${gauges.allocationsOpen}`,
      '# HELP svirt_audit_denials_stored Denials in the store.',
      '# TYPE svirt_audit_denials_stored gauge',
      `svirt_audit_denials_stored ${gauges.storedDenials}`,
      '# HELP svirt_audit_events_below_horizon_total Events read again from an old log after they were pruned, not stored.',
      '# TYPE svirt_audit_events_below_horizon_total counter',
      `svirt_audit_events_below_horizon_total ${gauges.eventsBelowHorizon}`,
      ...(r
        ? [
            '# HELP svirt_audit_store_used_bytes Bytes the database pages in use take (what pruning reduces).',
            '# TYPE svirt_audit_store_used_bytes gauge',
            `svirt_audit_store_used_bytes ${r.usedBytes}`,
            '# HELP svirt_audit_store_file_bytes Size of the database file.',
            '# TYPE svirt_audit_store_file_bytes gauge',
            `svirt_audit_store_file_bytes ${r.fileBytes}`,
            '# HELP svirt_audit_store_max_bytes The bound serve keeps the store under (--max-size); absent without one.',
            '# TYPE svirt_audit_store_max_bytes gauge',
            ...(r.maxBytes === null ? [] : [`svirt_audit_store_max_bytes ${r.maxBytes}`]),
            '# HELP svirt_audit_pruned_denials_total Denials removed by retention since start.',
            '# TYPE svirt_audit_pruned_denials_total counter',
            `svirt_audit_pruned_denials_total ${r.prunedDenials}`,
            '# HELP svirt_audit_pruned_events_total Events removed by retention since start.',
            '# TYPE svirt_audit_pruned_events_total counter',
            `svirt_audit_pruned_events_total ${r.prunedEvents}`,
          ]
        : []),
    ];
    return `${lines.join('\n')}\n`;
  }
}
