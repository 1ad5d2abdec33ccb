/**
 * report/ owns incident reports: one VM, one window, every fact with its evidence.
 * This module gathers what stands before the denial list (the VM, its allocations, the
 * host's enforcing state, relabels, findings, timeline, totals) with one streaming pass
 * over the denials; the renderers then stream the list and the evidence themselves.
 */

import { type AllocationJson, allocationJson } from '../core/allocation-json.js';
import { DENIAL_KINDS, type DenialKind, type Explanation, KIND_SEVERITY } from '../core/denial-kind.js';
import { formatTime } from '../core/time-spec.js';
import type { ReportReads } from '../store/report-reads.js';

export const REPORT_SCHEMA = 'svirt-audit-report/2';

export interface ReportRequest {
  vm: string;
  since?: number;
  until?: number;
  dbPath: string;
  version: string;
  now?: number;
}

export type Bucket = 'minute' | 'hour' | 'day';

export interface ReportHeader {
  schema: typeof REPORT_SCHEMA;
  generator: { name: 'svirt-audit'; version: string };
  database: string;
  generatedAt: string;
  window: { since: string | null; until: string | null };
  vm: { name: string; uuid: string; hosts: string[] };
  allocations: AllocationJson[];
  enforcing: {
    host: string;
    /** Periods of known state, in order; a gap before the first is time we do not know. */
    periods: { from: string; to: string | null; enforcing: boolean | null }[];
    unknownUntil: string | null;
  }[];
  /** What retention did to this VM's records: holds covering the window, and whether part of it was pruned. */
  retention: {
    holds: { id: number; reason: string; since: string | null; until: string | null; createdAt: string }[];
    /** Records older than this were pruned (except those under a hold); null if nothing ever was. */
    prunedBefore: string | null;
    /** True when the report's window starts before prunedBefore: its oldest part may be missing. */
    windowPruned: boolean;
  };
  relabels: {
    time: string;
    path: string;
    action: string;
    from: string | null;
    to: string | null;
    error: string | null;
    failed: boolean;
  }[];
  findings: {
    kind: DenialKind;
    count: number;
    permissive: number;
    firstSeen: string;
    lastSeen: string;
    tclass: string | null;
    perms: string;
    targetType: string | null;
    target: string;
    targetVm: string | null;
    exampleId: number;
    explanation: Explanation;
  }[];
  timeline: {
    bucket: Bucket;
    from: string | null;
    to: string | null;
    buckets: { start: string; counts: Partial<Record<DenialKind, number>> }[];
  };
  totals: { denials: number; permissive: number; byKind: Record<DenialKind, number> };
}

const BUCKET_MS: Record<Bucket, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Minute buckets up to 8 hours, hours up to 20 days, days beyond: at most ~500 bars. */
export function chooseBucket(spanMs: number): Bucket {
  if (spanMs <= 8 * 3_600_000) return 'minute';
  if (spanMs <= 20 * 86_400_000) return 'hour';
  return 'day';
}

export function bucketStart(time: number, bucket: Bucket): number {
  return time - (time % BUCKET_MS[bucket]);
}

export function bucketMs(bucket: Bucket): number {
  return BUCKET_MS[bucket];
}

/** Everything before the denial list. Throws UNKNOWN_VM / AMBIGUOUS_VM for a bad reference. */
export async function collectReportHeader(reads: ReportReads, request: ReportRequest): Promise<ReportHeader> {
  const vm = await reads.resolveVm(request.vm);
  const since = request.since;
  const until = request.until;
  const inWindow = (start: number, end: number | null) =>
    (until === undefined || start < until) && (since === undefined || end === null || end > since);
  const allocations = (await reads.allocations(vm.uuid))
    .filter((a) => inWindow(a.startedAt, a.endedAt))
    .sort((a, b) => a.startedAt - b.startedAt);
  const hosts = [...new Set(allocations.map((a) => a.host))].sort();

  // One pass for totals and the timeline; the span (hence the bucket) comes from SQL first.
  const window = { ...(since !== undefined && { since }), ...(until !== undefined && { until }) };
  const span = await reads.denialSpan(vm.uuid, window);
  const from = since ?? span?.first;
  const to = until ?? (span === undefined ? undefined : span.last + 1);
  const bucket = chooseBucket(from !== undefined && to !== undefined ? to - from : 0);
  const byKind = Object.fromEntries(DENIAL_KINDS.map((k) => [k, 0])) as Record<DenialKind, number>;
  let total = 0;
  let permissive = 0;
  const counts = new Map<number, Partial<Record<DenialKind, number>>>();
  for await (const d of reads.denials(vm.uuid, window)) {
    total++;
    byKind[d.kind]++;
    if (d.permissive) permissive++;
    const b = bucketStart(d.time, bucket);
    let c = counts.get(b);
    if (!c) counts.set(b, (c = {}));
    c[d.kind] = (c[d.kind] ?? 0) + 1;
  }
  const first = span?.first;

  const summary = await reads.summarize(vm.uuid, vm.name, window);
  const findings: ReportHeader['findings'] = [];
  for (const g of summary.groups.sort((a, b) => KIND_SEVERITY[a.kind] - KIND_SEVERITY[b.kind] || b.count - a.count))
    findings.push({
      kind: g.kind,
      count: g.count,
      permissive: g.permissive,
      firstSeen: formatTime(g.firstSeen),
      lastSeen: formatTime(g.lastSeen),
      tclass: g.tclass,
      perms: g.perms,
      targetType: g.targetType,
      target: g.target,
      targetVm: g.targetVm,
      exampleId: g.exampleId,
      explanation: (await reads.explanation(g.exampleId)) ?? { cause: '', fix: [], note: null },
    });

  const windowFrom = since ?? allocations[0]?.startedAt ?? first ?? request.now ?? Date.now();
  const windowTo = until ?? request.now ?? Date.now();
  const enforcing: ReportHeader['enforcing'] = [];
  for (const host of hosts) {
    const changes = await reads.macStatusHistory(host, windowFrom, windowTo);
    const startKnown = changes.length > 0 && (changes[0] as { time: number }).time <= windowFrom;
    enforcing.push({
      host,
      periods: changes.map((c, i) => ({
        from: formatTime(Math.max(c.time, windowFrom)),
        to: i + 1 < changes.length ? formatTime((changes[i + 1] as { time: number }).time) : null,
        enforcing: c.enforcing,
      })),
      unknownUntil: startKnown
        ? null
        : changes.length > 0
          ? formatTime((changes[0] as { time: number }).time)
          : formatTime(windowTo),
    });
  }

  const pruned = await reads.prunedBefore();
  const retention = {
    holds: (await reads.holdsCovering(vm.uuid, windowFrom, windowTo)).map((h) => ({
      id: h.id,
      reason: h.reason,
      since: h.since === null ? null : formatTime(h.since),
      until: h.until === null ? null : formatTime(h.until),
      createdAt: formatTime(h.createdAt),
    })),
    prunedBefore: pruned === null ? null : formatTime(pruned),
    windowPruned: pruned !== null && windowFrom < pruned,
  };

  const relabels = (await Promise.all(allocations.map((a) => reads.relabels(a))))
    .flat()
    .filter((r) => (since === undefined || r.at >= since) && (until === undefined || r.at < until))
    .sort((a, b) => a.at - b.at)
    .map((r) => ({
      time: formatTime(r.at),
      path: r.path,
      action: r.action,
      from: r.labelBefore,
      to: r.labelAfter,
      error: r.error,
      failed: r.error !== null,
    }));

  return {
    schema: REPORT_SCHEMA,
    generator: { name: 'svirt-audit', version: request.version },
    database: request.dbPath,
    generatedAt: formatTime(request.now ?? Date.now()),
    window: {
      since: since === undefined ? null : formatTime(since),
      until: until === undefined ? null : formatTime(until),
    },
    vm: { name: vm.name, uuid: vm.uuid, hosts },
    allocations: allocations.map(allocationJson),
    enforcing,
    retention,
    relabels,
    findings,
    timeline: {
      bucket,
      from: from === undefined ? null : formatTime(bucketStart(from, bucket)),
      to: to === undefined ? null : formatTime(to),
      buckets: [...counts].sort((a, b) => a[0] - b[0]).map(([start, c]) => ({ start: formatTime(start), counts: c })),
    },
    totals: { denials: total, permissive, byKind },
  };
}
