/**
 * The read answers behind `denials`, `summary`, `vms --json` and `report`, over either backend:
 * one host's SQLite file, or the fleet's PostgreSQL (`--db postgres://…`). The SQLite
 * side is the synchronous query layer as it is; the fleet side asks the same questions
 * in PostgreSQL's dialect (store/postgres/fleet-reads.ts). Callers see one interface.
 */

import type { AttributedDenial } from '../core/attributed-denial.js';
import type { Allocation, VmSummary } from '../core/allocation.js';
import { type AllocationFilter, listAllocations, listVms, resolveVm } from './allocations.js';
import { type DenialFilter, queryDenials } from './denial-query.js';
import { isPostgresUrl } from './postgres/url.js';
import { type DenialExplanation, explainStoredDenial } from './denial-explanation.js';
import { type ReportReads, sqliteReportReads } from './report-reads.js';
import { type OpenStoreOptions, openStore, type Store } from './store.js';
import type { VmSummaryAnswer } from './summary-groups.js';
import { summarizeVm } from './vm-summary.js';

export interface ReadBackend {
  readonly kind: 'sqlite' | 'postgres';
  denials(filter: DenialFilter): Promise<AttributedDenial[]>;
  resolveVm(ref: string): Promise<{ uuid: string; name: string }>;
  /** Every VM, most recently seen first. */
  vms(): Promise<VmSummary[]>;
  /** Allocations, newest first: a VM's label history on every host. */
  allocations(filter: AllocationFilter): Promise<Allocation[]>;
  summarize(uuid: string, name: string, filter: Omit<DenialFilter, 'vmUuid' | 'limit'>): Promise<VmSummaryAnswer>;
  /** One denial with its raw records, evidence, cause and fix; undefined when no such id. */
  explain(id: number): Promise<DenialExplanation | undefined>;
  /** What an incident report reads (report/). */
  readonly report: ReportReads;
  close(): Promise<void>;
}

export function sqliteBackend(store: Store): ReadBackend {
  return {
    kind: 'sqlite',
    denials: async (filter) => queryDenials(store, filter),
    resolveVm: async (ref) => resolveVm(store, ref),
    vms: async () => listVms(store),
    allocations: async (filter) => listAllocations(store, filter),
    summarize: async (uuid, name, filter) => summarizeVm(store, uuid, name, filter),
    explain: async (id) => explainStoredDenial(store, id),
    report: sqliteReportReads(store),
    close: async () => store.close(),
  };
}

/** The backend `db` names: a postgres:// URL, or a SQLite file path. */
export async function openReadBackend(db: string, options: OpenStoreOptions = {}): Promise<ReadBackend> {
  // Loaded only for a fleet URL: nothing else loads the PostgreSQL client (see pg-runtime.ts).
  if (isPostgresUrl(db)) return (await import('./postgres/postgres-backend.js')).openPostgresBackend(db);
  return sqliteBackend(openStore(db, options));
}
