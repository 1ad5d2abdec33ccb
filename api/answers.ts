/**
 * The read answers the API serves most, as JSON text: a page of denials and a VM's
 * summary. Kept apart from the routes so the same code runs in the request's thread
 * (tests, `--read-threads 0`) or in a worker thread of the answer pool (`serve`).
 */

import { denialJson } from '../core/denial-json.js';
import type { DenialKind } from '../core/denial-kind.js';
import { SvirtAuditError } from '../core/errors.js';
import { assertTimeWindow, formatTime, parseTimeSpec } from '../core/time-spec.js';
import { resolveVm } from '../store/allocations.js';
import { type DenialHistogram, denialHistogram } from '../store/denial-histogram.js';
import { type DenialFilter, queryDenials } from '../store/denial-query.js';
import type { AttributedDenial } from '../core/attributed-denial.js';
import { summarizeVm, type VmSummaryAnswer } from '../store/vm-summary.js';
import type { Store } from '../store/store.js';
import type { VmAnswerCache } from './vm-answer-cache.js';

export interface DenialQuery {
  vm?: string;
  host?: string;
  since?: string;
  until?: string;
  kind?: DenialKind;
  tclass?: string;
  perm?: string;
  permissive?: boolean;
  limit?: number;
  cursor?: string;
}

export interface HistogramQuery {
  vm?: string;
  host?: string;
  since?: string;
  until?: string;
  buckets?: number;
}

export interface SummaryQuery {
  ref: string;
  since?: string;
  until?: string;
}

/** Each answer's arguments (validated by the route's schema before they get here). */
export interface AnswerArgs {
  denialPage: DenialQuery;
  vmSummary: SummaryQuery;
  denialHistogram: HistogramQuery;
}

export type AnswerName = keyof AnswerArgs;

function decodeCursor(cursor: string): { time: number; id: number } {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':').map(Number);
  if (!Number.isSafeInteger(time) || !Number.isSafeInteger(id)) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      'the cursor is not one this server gave out',
      'pass the "next" value of the previous page',
    );
  }
  return { time: time as number, id: id as number };
}

export type DenialPage = { items: ReturnType<typeof denialJson>[]; next: string | null };

/** One page of denials, newest first; `next` continues after the last item (no OFFSET). */
function denialPage(store: Store, q: DenialQuery): DenialPage {
  const vm = q.vm === undefined ? undefined : resolveVm(store, q.vm);
  return queryPage(store, q, vm?.uuid, q.since === undefined ? undefined : parseTimeSpec(q.since)).page;
}

/** The DenialFilter a page request asks for (one more than the page, to know if another follows). */
export function pageFilter(q: DenialQuery, vmUuid: string | undefined, since: number | undefined): DenialFilter {
  return {
    ...(vmUuid !== undefined && { vmUuid }),
    ...(q.host !== undefined && { host: q.host }),
    ...(since !== undefined && { since }),
    ...(q.until !== undefined && { until: parseTimeSpec(q.until) }),
    ...(q.kind !== undefined && { kind: q.kind }),
    ...(q.tclass !== undefined && { tclass: q.tclass }),
    ...(q.perm !== undefined && { perm: q.perm }),
    ...(q.permissive !== undefined && { permissive: q.permissive }),
    ...(q.cursor !== undefined && { before: decodeCursor(q.cursor) }),
    limit: (q.limit ?? 100) + 1,
  };
}

/** The page of `rows` (fetched with pageFilter), with `next` when more follow. */
export function pageOf(q: DenialQuery, rows: AttributedDenial[]): { page: DenialPage; times: number[] } {
  const limit = q.limit ?? 100;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? Buffer.from(`${last.time}:${last.id}`).toString('base64url') : null;
  return { page: { items: page.map(denialJson), next }, times: page.map((d) => d.time) };
}

function queryPage(
  store: Store,
  q: DenialQuery,
  vmUuid: string | undefined,
  since: number | undefined,
): { page: DenialPage; times: number[] } {
  return pageOf(q, queryDenials(store, pageFilter(q, vmUuid, since)));
}

interface CachedPage {
  since: number;
  /** The items' times, newest first. */
  times: number[];
  body: string;
}

/**
 * A VM's page of denials as JSON, from the cache when it is still right. A relative
 * `since` (24h) moves on between requests, but a page is newest first: the same query
 * with a later `since` is the cached page without its items now older than `since`
 * (and then without `next`, since all that followed is older still). An `until` is not
 * cached: a moving upper bound lets new denials in.
 */
function cachedPageJson(store: Store, cache: VmAnswerCache, q: DenialQuery & { vm: string }): string {
  const vm = resolveVm(store, q.vm);
  const since = q.since === undefined ? 0 : parseTimeSpec(q.since);
  const key = `denials\u0000${JSON.stringify({ ...q, since: q.since === undefined })}`;
  const hit = cache.get<CachedPage>(store, vm.uuid, key);
  if (hit && hit.since <= since) {
    const keep = hit.times.findIndex((t) => t < since);
    if (keep === -1) return hit.body;
    const page = JSON.parse(hit.body) as DenialPage;
    const body = JSON.stringify({ items: page.items.slice(0, keep), next: null });
    cache.put(store, vm.uuid, key, { since, times: hit.times.slice(0, keep), body }, body.length);
    return body;
  }
  const { page, times } = queryPage(store, q, vm.uuid, since);
  const body = JSON.stringify(page);
  cache.put(store, vm.uuid, key, { since, times, body }, body.length);
  return body;
}

/** A VM's summary; over all time it comes from the cache when one is given. */
function vmSummary(store: Store, cache: VmAnswerCache | undefined, q: SummaryQuery) {
  const vm = resolveVm(store, q.ref);
  const windowed = q.since !== undefined || q.until !== undefined;
  const s =
    !windowed && cache
      ? cache.summary(store, vm.uuid, vm.name)
      : summarizeVm(store, vm.uuid, vm.name, {
          ...(q.since !== undefined && { since: parseTimeSpec(q.since) }),
          ...(q.until !== undefined && { until: parseTimeSpec(q.until) }),
        });
  return summaryJson(s);
}

/** A summary as JSON: times as ISO 8601. */
export function summaryJson(s: VmSummaryAnswer) {
  return {
    ...s,
    groups: s.groups.map((g) => ({ ...g, firstSeen: formatTime(g.firstSeen), lastSeen: formatTime(g.lastSeen) })),
  };
}

/** The answer as the JSON body the route sends; with a cache, from it when still right. */
export function answerJson<N extends AnswerName>(
  store: Store,
  cache: VmAnswerCache | undefined,
  name: N,
  args: AnswerArgs[N],
): string {
  const window = args as { since?: string; until?: string };
  if (window.since !== undefined && window.until !== undefined)
    assertTimeWindow(parseTimeSpec(window.since), parseTimeSpec(window.until));
  if (name === 'vmSummary') return JSON.stringify(vmSummary(store, cache, args as SummaryQuery));
  if (name === 'denialHistogram') return JSON.stringify(histogramJson(store, args as HistogramQuery));
  const q = args as DenialQuery;
  if (cache && q.vm !== undefined && q.until === undefined) return cachedPageJson(store, cache, { ...q, vm: q.vm });
  return JSON.stringify(denialPage(store, q));
}

/** The window a histogram request asks for: default the last 24 hours in 48 buckets. */
export function histogramWindow(q: HistogramQuery): { from: number; to: number; buckets: number } {
  const to = q.until === undefined ? Date.now() : parseTimeSpec(q.until);
  const from = parseTimeSpec(q.since ?? '24h');
  assertTimeWindow(from, to);
  return { from, to, buckets: q.buckets ?? 48 };
}

/** A histogram as the API answers it: times as ISO text. */
export function histogramBody(h: DenialHistogram) {
  return { ...h, from: formatTime(h.from), to: formatTime(h.to) };
}

function histogramJson(store: Store, q: HistogramQuery) {
  return histogramBody(
    denialHistogram(store, {
      ...histogramWindow(q),
      ...(q.vm !== undefined && { vmUuid: resolveVm(store, q.vm).uuid }),
      ...(q.host !== undefined && { host: q.host }),
    }),
  );
}
