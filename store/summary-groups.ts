/**
 * How a VM's summary groups its denials, whichever backend counted them: by (kind, class,
 * permissions, target type, path or target VM), most severe kinds first, then by count.
 * Denials on targets without categories arrive counted per allocation (their kind cannot
 * depend on time); those on labelled targets arrive one by one, attributed.
 */

import type { Allocation } from '../core/allocation.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import { classifyDenial, type DenialKind, KIND_SEVERITY } from '../core/denial-kind.js';

export interface SummaryGroup {
  kind: DenialKind;
  tclass: string | null;
  perms: string;
  targetType: string | null;
  /** The path, or for cross-VM groups the other VM's name. */
  target: string;
  targetVm: string | null;
  count: number;
  permissive: number;
  firstSeen: number;
  lastSeen: number;
  /** A denial id to `explain`. */
  exampleId: number;
}

export interface VmSummaryAnswer {
  uuid: string;
  name: string;
  total: number;
  groups: SummaryGroup[];
}

/** Denials of one allocation on unlabelled targets, counted by what was denied on what. */
export interface CountedGroup {
  perms: string;
  tclass: string | null;
  ttype: string | null;
  target: string | null;
  n: number;
  permissive: number;
  first_seen: number;
  last_seen: number;
  example: number;
}

export class SummaryGroups {
  readonly #groups = new Map<string, SummaryGroup>();
  #total = 0;

  #add(g: SummaryGroup): void {
    this.#total += g.count;
    const key = [g.kind, g.tclass, g.perms, g.targetType, g.target].join('\u0000');
    const have = this.#groups.get(key);
    if (!have) {
      this.#groups.set(key, { ...g });
      return;
    }
    have.count += g.count;
    have.permissive += g.permissive;
    have.firstSeen = Math.min(have.firstSeen, g.firstSeen);
    have.lastSeen = Math.max(have.lastSeen, g.lastSeen);
  }

  /** Denials of allocation `a` on targets without categories, as counted by the backend. */
  addCounted(a: Allocation, r: CountedGroup): void {
    const kind = classifyDenial({
      model: a.model === 'apparmor' ? 'apparmor' : 'selinux',
      perms: r.perms === '' ? [] : r.perms.split(' '),
      tclass: r.tclass,
      // With the source allocation known, classification needs neither source type nor profile.
      sourceType: null,
      sourceCategories: a.categories,
      profile: a.model === 'apparmor' ? a.label : null,
      targetType: r.ttype,
      targetCategories: '',
      sourceAllocation: a,
      targetAllocation: null,
      targetFormerHolder: null,
    });
    this.#add({
      kind,
      tclass: r.tclass,
      perms: r.perms,
      targetType: r.ttype,
      target: r.target ?? '?',
      targetVm: null,
      count: r.n,
      permissive: r.permissive,
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      exampleId: r.example,
    });
  }

  /** One denial on a labelled target, attributed (it may be cross-VM or a stale label). */
  addAttributed(d: AttributedDenial, kind: DenialKind | undefined): void {
    if (kind !== undefined && d.kind !== kind) return;
    const targetVm = d.target.allocation?.name ?? null;
    this.#add({
      kind: d.kind,
      tclass: d.tclass,
      perms: d.perms.join(' '),
      targetType: d.target.type,
      target:
        d.kind === 'cross-vm' && targetVm
          ? `VM ${targetVm}`
          : (d.target.path ?? d.target.name ?? d.target.context ?? '?'),
      targetVm,
      count: 1,
      permissive: d.permissive ? 1 : 0,
      firstSeen: d.time,
      lastSeen: d.time,
      exampleId: d.id,
    });
  }

  answer(uuid: string, name: string, kind: DenialKind | undefined): VmSummaryAnswer {
    const sorted = [...this.#groups.values()]
      .filter((g) => kind === undefined || g.kind === kind)
      .sort((x, y) => KIND_SEVERITY[x.kind] - KIND_SEVERITY[y.kind] || y.count - x.count);
    return {
      uuid,
      name,
      total: kind === undefined ? this.#total : sorted.reduce((n, g) => n + g.count, 0),
      groups: sorted,
    };
  }
}
