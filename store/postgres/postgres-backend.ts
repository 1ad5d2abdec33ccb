/** The read interface (store/read-backend.ts) over the fleet's PostgreSQL. */

import type { ReadBackend } from '../read-backend.js';
import { type FleetPool, openFleet } from './connect.js';
import { fleetReportReads } from './fleet-report-reads.js';
import { fleetAllocations, fleetDenials, fleetExplain, fleetResolveVm, fleetSummary, fleetVms } from './fleet-reads.js';

export function postgresBackend(pool: FleetPool): ReadBackend {
  return {
    kind: 'postgres',
    denials: (filter) => fleetDenials(pool, filter),
    resolveVm: (ref) => fleetResolveVm(pool, ref),
    vms: () => fleetVms(pool),
    allocations: (filter) => fleetAllocations(pool, filter),
    summarize: (uuid, name, filter) => fleetSummary(pool, uuid, name, filter),
    explain: (id) => fleetExplain(pool, id),
    report: fleetReportReads(pool),
    close: () => pool.end(),
  };
}

export async function openPostgresBackend(url: string): Promise<ReadBackend> {
  return postgresBackend(await openFleet(url));
}
