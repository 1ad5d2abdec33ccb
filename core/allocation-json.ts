/** The JSON shape of an allocation, shared by the CLI and the API. */

import type { Allocation, VmSummary } from './allocation.js';
import { formatTime } from './time-spec.js';

export interface AllocationJson {
  id: number;
  uuid: string;
  name: string;
  host: string;
  model: string;
  label: string | null;
  imageLabel: string | null;
  categories: string;
  pid: number | null;
  source: string;
  startedAt: string;
  endedAt: string | null;
}

export function allocationJson(a: Allocation): AllocationJson {
  return {
    id: a.id,
    uuid: a.uuid,
    name: a.name,
    host: a.host,
    model: a.model,
    label: a.label,
    imageLabel: a.imageLabel,
    categories: a.categories,
    pid: a.pid,
    source: a.source,
    startedAt: formatTime(a.startedAt),
    endedAt: a.endedAt === null ? null : formatTime(a.endedAt),
  };
}

/** The JSON shape of a VM (`vms --json`, GET /v1/vms). */
export function vmJson(v: VmSummary) {
  return {
    uuid: v.uuid,
    name: v.name,
    hosts: v.hosts,
    allocations: v.allocations,
    firstSeen: formatTime(v.firstSeen),
    lastSeen: formatTime(v.lastSeen),
    running: v.running ? allocationJson(v.running) : null,
  };
}
