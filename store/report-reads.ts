/**
 * What an incident report reads, over either backend: one host's SQLite file or the
 * fleet's PostgreSQL (store/postgres/fleet-report-reads.ts). report/ builds the same
 * report from either; the long lists (a VM's denials and their evidence) are iterated
 * oldest first so a report streams in constant memory on both.
 */

import type { Allocation, RelabelAction } from '../core/allocation.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import type { Explanation } from '../core/denial-kind.js';
import { listAllocations, resolveVm } from './allocations.js';
import { type EventEvidence, iterateVmEvidence, type MacStatusChange, macStatusHistory } from './audit-trail.js';
import { explainStoredDenial } from './denial-explanation.js';
import { iterateVmDenials } from './denial-query.js';
import { listRelabels } from './relabels.js';
import { type Hold, holdsCovering, prunedBefore } from './retention.js';
import type { Store } from './store.js';
import type { VmSummaryAnswer } from './summary-groups.js';
import { vmDenialRanges, vmDenialSpan } from './vm-denial-ranges.js';
import { summarizeVm } from './vm-summary.js';

export interface ReportWindow {
  since?: number;
  until?: number;
}

export interface ReportReads {
  resolveVm(ref: string): Promise<{ uuid: string; name: string }>;
  /** Every allocation of the VM, on every host. */
  allocations(uuid: string): Promise<Allocation[]>;
  denialSpan(uuid: string, window: ReportWindow): Promise<{ first: number; last: number } | undefined>;
  /** The VM's denials in the window, allocation by allocation (oldest first), each oldest first. */
  denials(uuid: string, window: ReportWindow): AsyncIterable<AttributedDenial> | Iterable<AttributedDenial>;
  summarize(uuid: string, name: string, window: ReportWindow): Promise<VmSummaryAnswer>;
  explanation(denialId: number): Promise<Explanation | undefined>;
  macStatusHistory(host: string, since: number, until: number): Promise<MacStatusChange[]>;
  holdsCovering(uuid: string, from: number, to: number): Promise<Hold[]>;
  /** Records older than this were pruned; null when nothing ever was. */
  prunedBefore(): Promise<number | null>;
  relabels(allocation: Allocation): Promise<RelabelAction[]>;
  /** The events of the VM's denials in the window, each once, oldest first. */
  evidence(uuid: string, window: ReportWindow): AsyncIterable<EventEvidence> | Iterable<EventEvidence>;
}

/**
 * The reads over one SQLite connection. The iterations keep statements open while the
 * caller pauses between rows: give a streaming report a connection of its own.
 */
export function sqliteReportReads(store: Store): ReportReads {
  return {
    resolveVm: async (ref) => resolveVm(store, ref),
    allocations: async (uuid) => listAllocations(store, { uuid }),
    denialSpan: async (uuid, window) => vmDenialSpan(store, uuid, window),
    denials: (uuid, window) => iterateVmDenials(store, uuid, window),
    summarize: async (uuid, name, window) => summarizeVm(store, uuid, name, window),
    explanation: async (id) => explainStoredDenial(store, id)?.explanation,
    macStatusHistory: async (host, since, until) => macStatusHistory(store, host, since, until),
    holdsCovering: async (uuid, from, to) => holdsCovering(store, uuid, from, to),
    prunedBefore: async () => prunedBefore(store),
    relabels: async (allocation) => listRelabels(store, allocation.id),
    evidence: (uuid, window) => iterateVmEvidence(store, vmDenialRanges(store, uuid, window)),
  };
}
