/**
 * Recording allocations: allocate a fresh label, record a static one, or end one. Each is
 * a single BEGIN IMMEDIATE transaction, so concurrent launches on one host serialize on
 * SQLite's write lock and never hand out the same category set.
 */

import { randomInt } from 'node:crypto';
import type { Allocation, AllocationSource, SecurityModel } from '../core/allocation.js';
import { apparmorProfileFor } from '../core/allocation.js';
import type { CategorySet } from '../core/category-set.js';
import { SvirtAuditError } from '../core/errors.js';
import {
  contextCategories,
  formatSelinuxContext,
  parseLevel,
  parseSelinuxContext,
  withLevel,
} from '../core/selinux-context.js';
import {
  endAllocation,
  findLabelHolder,
  findOpenAllocation,
  heldCategorySets,
  insertAllocation,
  labelConflict,
} from '../store/allocations.js';
import type { Store } from '../store/store.js';
import { type CategoryStyle, chooseCategorySet, DEFAULT_RANGE, type RandomInt } from './allocation-policy.js';
import { DEFAULT_LABEL_BASES, type LabelBases } from './label-bases.js';

export interface AllocationRequest {
  uuid: string;
  name: string;
  host: string;
  model: SecurityModel;
  source: AllocationSource;
  /** Range to draw from (default c0.c1023). */
  range?: CategorySet;
  style?: CategoryStyle;
  /** Use the TCG domain type (svirt_tcg_t) instead of svirt_t. */
  tcg?: boolean;
  /** A static label to record as given instead of allocating one. */
  label?: string;
  imageLabel?: string;
  pid?: number | null;
  /** When the allocation began (default now); earlier for imports. */
  startedAt?: number;
  /** Open a new allocation even if the VM already holds one (the old one is ended). */
  forceNew?: boolean;
  /**
   * When the VM's open allocation has a different label, end it and open one with the
   * new label instead of refusing (the hook: libvirt relabelled a restarted VM).
   */
  replaceChanged?: boolean;
  /**
   * When another VM's open allocation holds the label, end it instead of refusing: the
   * security driver just handed the label out, so we missed that VM's stop (the hook).
   */
  supersedeHolder?: boolean;
  bases?: LabelBases;
  random?: RandomInt;
}

export interface AllocationOutcome {
  allocation: Allocation;
  /** False when the VM already held an open allocation and it was returned as is. */
  created: boolean;
}

/**
 * Allocate (or record) a label for a VM. Idempotent: a VM with an open allocation on the
 * host gets that allocation back unless `forceNew`. Throws ALLOCATION_CONFLICT (static
 * label held by another VM), RANGE_EXHAUSTED, BAD_CONTEXT, DB_BUSY.
 */
export function allocateLabel(store: Store, request: AllocationRequest): AllocationOutcome {
  const startedAt = request.startedAt ?? Date.now();
  return store.immediate(() => {
    const open = findOpenAllocation(store, request.host, request.uuid);
    if (open && !request.forceNew) {
      const unchanged = request.label === undefined || sameLabel(open, request.label);
      if (unchanged) return { allocation: open, created: false };
      if (!request.replaceChanged) {
        throw new SvirtAuditError(
          'ALLOCATION_CONFLICT',
          `VM ${open.name} (${open.uuid}) already holds ${open.label ?? 'no label'} on ${open.host}, not ${request.label}`,
          `release it first (svirt-audit release --uuid ${open.uuid}), or pass --new`,
        );
      }
    }
    if (open) endAllocation(store, open, Math.max(startedAt, open.startedAt));

    const labels = chooseLabels(store, request, startedAt);
    if (request.supersedeHolder && labels.categories !== '') {
      supersedeLabelHolder(store, request.host, labels.categories, request.uuid, startedAt);
    }
    const allocation = insertAllocation(store, {
      host: request.host,
      uuid: request.uuid,
      name: request.name,
      model: request.model,
      label: labels.label,
      imageLabel: labels.imageLabel,
      categories: labels.categories,
      pid: request.pid ?? null,
      source: request.source,
      startedAt,
    });
    return { allocation, created: true };
  });
}

interface ChosenLabels {
  label: string | null;
  imageLabel: string | null;
  categories: string;
}

function chooseLabels(store: Store, request: AllocationRequest, startedAt: number): ChosenLabels {
  const bases = request.bases ?? DEFAULT_LABEL_BASES;
  switch (request.model) {
    case 'none':
      return { label: null, imageLabel: null, categories: '' };
    case 'apparmor': {
      const profile = request.label ?? apparmorProfileFor(request.uuid);
      return { label: profile, imageLabel: request.imageLabel ?? profile, categories: '' };
    }
    case 'selinux': {
      if (request.label !== undefined) return staticSelinuxLabels(request.label, request.imageLabel, bases);
      const held = heldCategorySets(store, request.host, startedAt);
      const categories = chooseCategorySet(
        request.range ?? DEFAULT_RANGE,
        held,
        request.style ?? 'pair',
        request.random ?? randomInt,
      );
      const domain = parseSelinuxContext(request.tcg ? bases.tcgDomain : bases.domain);
      const image = parseSelinuxContext(bases.image);
      const level = parseLevel(`s${domain.low?.sensitivity ?? 0}:${categories.toString()}`);
      return {
        label: formatSelinuxContext(withLevel(domain, level)),
        imageLabel: formatSelinuxContext(withLevel(image, level)),
        categories: categories.toString(),
      };
    }
  }
}

/** A static label is recorded as given; its image label defaults to the image base at its level. */
function staticSelinuxLabels(label: string, imageLabel: string | undefined, bases: LabelBases): ChosenLabels {
  const context = parseSelinuxContext(label);
  const image =
    imageLabel !== undefined
      ? parseSelinuxContext(imageLabel)
      : context.high
        ? withLevel(parseSelinuxContext(bases.image), context.high)
        : parseSelinuxContext(bases.image);
  return {
    label,
    imageLabel: formatSelinuxContext(image),
    categories: contextCategories(context).toString(),
  };
}

function sameLabel(open: Allocation, label: string): boolean {
  if (open.label === label) return true;
  if (open.model !== 'selinux' || open.label === null) return false;
  try {
    const a = parseSelinuxContext(open.label);
    const b = parseSelinuxContext(label);
    return a.type === b.type && contextCategories(a).equals(contextCategories(b));
  } catch {
    return false;
  }
}

/**
 * End the open allocation of `uuid` on `host` at `endedAt` (default now).
 * Throws NO_OPEN_ALLOCATION when there is none; nothing changes then.
 */
export function releaseAllocation(store: Store, host: string, uuid: string, endedAt: number = Date.now()): Allocation {
  return store.immediate(() => {
    const open = findOpenAllocation(store, host, uuid);
    if (!open) {
      throw new SvirtAuditError(
        'NO_OPEN_ALLOCATION',
        `VM ${uuid} has no open allocation on ${host}`,
        'list open allocations with: svirt-audit allocations --open',
      );
    }
    return endAllocation(store, open, endedAt);
  });
}

/**
 * Close whichever open allocation holds `categories` on `host` because the security
 * driver just gave that label to another VM: it can only mean we missed that VM's stop.
 * Returns the allocation that was closed, if any.
 */
export function supersedeLabelHolder(
  store: Store,
  host: string,
  categories: string,
  uuid: string,
  at: number,
): Allocation | undefined {
  const holder = findLabelHolder(store, host, categories, at, null);
  if (!holder || holder.uuid === uuid) return undefined;
  if (holder.endedAt !== null || holder.startedAt > at) throw labelConflict(categories, holder);
  return endAllocation(store, holder, at);
}
