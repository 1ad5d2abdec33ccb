/** What `explain` shows of one denial: raw records, attribution, the evidence rows, cause and fix. */

import type { ExpectedDisk, RelabelAction } from '../core/allocation.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import { explainDenial, type Explanation } from '../core/denial-kind.js';
import { listExpectedDisks } from './allocations.js';
import { eventRawText, RAW_COLUMNS, type RawRef } from './raw-blocks.js';
import { listRelabelsForPath } from './relabels.js';
import type { Store } from './store.js';
import { getDenial } from './denial-query.js';

export interface DenialExplanation {
  denial: AttributedDenial;
  /** The audit records of the event, verbatim. */
  raw: string[];
  relabels: RelabelAction[];
  expected: ExpectedDisk | null;
  explanation: Explanation;
}

/** Everything `explain` shows: raw records, attribution, evidence rows, cause and fix. */
export function explainStoredDenial(store: Store, id: number): DenialExplanation | undefined {
  const denial = getDenial(store, id);
  if (!denial) return undefined;
  const raw = eventRawText(
    store,
    store.statement(`SELECT ${RAW_COLUMNS} FROM event e WHERE id = ?`).get(denial.eventId) as RawRef,
  ).split('\n');
  const path = denial.target.path;
  const relabels = path ? listRelabelsForPath(store, path) : [];
  const expected =
    path && denial.source.allocation
      ? (listExpectedDisks(store, denial.source.allocation.id).find((d) => d.path === path) ?? null)
      : null;
  return explanationOf(denial, raw, relabels, expected);
}

/** The explanation of a denial from its evidence, whichever store it was read from. */
export function explanationOf(
  denial: AttributedDenial,
  raw: string[],
  relabels: RelabelAction[],
  expected: ExpectedDisk | null,
): DenialExplanation {
  const explanation = explainDenial(
    denial.kind,
    {
      model: denial.model,
      perms: denial.perms,
      tclass: denial.tclass,
      sourceType: denial.source.type,
      sourceCategories: denial.source.categories,
      profile: denial.apparmor?.profile ?? null,
      targetType: denial.target.type,
      targetCategories: denial.target.categories,
      sourceAllocation: denial.source.allocation,
      targetAllocation: denial.target.allocation,
      targetFormerHolder: denial.target.formerHolder,
      path: denial.target.path,
      permissive: denial.permissive,
      comm: denial.source.comm,
      pid: denial.source.pid,
    },
    { relabels, expected },
  );
  return { denial, raw, relabels, expected, explanation };
}
