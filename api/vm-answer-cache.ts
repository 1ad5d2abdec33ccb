/**
 * Cached answers about VMs (summaries, pages of denials) for the long-running server. An
 * answer stays valid until attribution may have changed (any allocation change, seen
 * through allocation_generation) or a denial carrying one of the VM's labels is stored.
 * New denials are read once, by rowid, and only the VMs they concern are dropped, so a
 * collector storing thousands of denials a second does not empty the cache.
 */

import {
  allocationGeneration,
  denialLabelsAfter,
  replaceSavedAnswers,
  savedAnswers,
} from '../store/answer-cache-rows.js';
import { listAllocations } from '../store/allocations.js';
import { latestDenialId } from '../store/denial-query.js';
import { summarizeVm, type VmSummaryAnswer } from '../store/vm-summary.js';
import { findHostId } from '../store/hosts.js';
import type { Store } from '../store/store.js';

const labelKey = (host: number | string, label: string) => `${host}\u0000${label}`;
const SUMMARY = 'summary\u0000';

/** Which VMs' answers a cache loads from answer_cache (a thread of a pool loads its share). */
export type UuidFilter = (uuid: string) => boolean;

/** A cache's summaries as `save` writes them. */
export interface SavedAnswers {
  generation: number;
  lastDenialId: number;
  entries: { uuid: string; key: string; weight: number; answer: string }[];
}

export class VmAnswerCache {
  /** uuid → answer key → answer and its weight (about its size in bytes). */
  readonly #entries = new Map<string, Map<string, { answer: unknown; weight: number }>>();
  /** label key → uuids whose answers count denials with that label. */
  readonly #byLabel = new Map<string, Set<string>>();
  #weight = 0;
  #generation = -1;
  #lastDenialId = -1;
  readonly #maxWeight: number;

  /** The cache empties itself when its answers weigh more than `maxWeight` (about bytes). */
  constructor(maxWeight = 64 * 1024 * 1024) {
    this.#maxWeight = maxWeight;
  }

  /** The answer stored under `key` for VM `uuid`, unless something it depends on changed since. */
  get<T>(store: Store, uuid: string, key: string): T | undefined {
    this.#invalidate(store);
    return this.#entries.get(uuid)?.get(key)?.answer as T | undefined;
  }

  /** Keep `answer` for VM `uuid` under `key` (call right after computing it). */
  put(store: Store, uuid: string, key: string, answer: unknown, weight: number): void {
    if (this.#weight + weight > this.#maxWeight) this.#clear();
    let answers = this.#entries.get(uuid);
    if (!answers) {
      this.#entries.set(uuid, (answers = new Map()));
      for (const a of listAllocations(store, { uuid })) {
        // An allocation's host row exists: it references it.
        const label = labelKey(
          findHostId(store, a.host) as number,
          a.model === 'apparmor' ? `aa:${a.label}` : a.categories,
        );
        let set = this.#byLabel.get(label);
        if (!set) this.#byLabel.set(label, (set = new Set()));
        set.add(uuid);
      }
    }
    this.#weight += weight - (answers.get(key)?.weight ?? 0);
    answers.set(key, { answer, weight });
  }

  /** The summary of VM `uuid` over all time, from the cache when still valid. */
  summary(store: Store, uuid: string, name: string): VmSummaryAnswer {
    const key = `${SUMMARY}${name}`;
    const cached = this.get<VmSummaryAnswer>(store, uuid, key);
    if (cached) return cached;
    const answer = summarizeVm(store, uuid, name);
    // A summary is a few groups of short strings.
    this.put(store, uuid, key, answer, 512 + 256 * answer.groups.length);
    return answer;
  }

  /**
   * Compute the summaries of these VMs ahead of their first request, one VM per turn of
   * the event loop so requests are served in between. After a start each first request
   * for a VM would otherwise run its summary while every other connection waits
   * (bench/api, warm against cold: summary p99 57 ms against 327 ms). Stops early when
   * `stopped()` says so (the server is closing the store). Returns how many it computed.
   */
  async warm(store: Store, vms: readonly { uuid: string; name: string }[], stopped: () => boolean): Promise<number> {
    let computed = 0;
    for (const vm of vms) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stopped()) break;
      this.summary(store, vm.uuid, vm.name);
      computed++;
    }
    return computed;
  }

  /**
   * Save the summaries (not pages: those hang on a moving `since`) to answer_cache, for
   * the next start of this `version`. Needs a writable store; `caches` are all of a
   * server's caches (one per thread), their rows replace what was saved before.
   */
  static save(store: Store, version: string, caches: readonly SavedAnswers[]): number {
    // A VM asked about by name and by uuid may be cached by two threads: one row each.
    const rows = new Map<string, [SavedAnswers, SavedAnswers['entries'][number]]>();
    for (const c of caches) for (const e of c.entries) rows.set(`${e.uuid}\u0000${e.key}`, [c, e]);
    replaceSavedAnswers(
      store,
      version,
      [...rows.values()].map(([c, e]) => ({ ...e, generation: c.generation, lastDenialId: c.lastDenialId })),
    );
    return rows.size;
  }

  /** What `save` stores of this cache: its summaries, with the point they are valid at. */
  saved(): SavedAnswers {
    const entries: SavedAnswers['entries'] = [];
    for (const [uuid, answers] of this.#entries) {
      for (const [key, { answer, weight }] of answers) {
        if (key.startsWith(SUMMARY)) entries.push({ uuid, key, weight, answer: JSON.stringify(answer) });
      }
    }
    return { generation: this.#generation, lastDenialId: this.#lastDenialId, entries };
  }

  /**
   * Load the summaries a previous `serve` of this `version` saved, when allocations have
   * not changed since (same generation). Denials stored since are checked on the next
   * `get`, as for answers computed here. Call before the first `get`. Returns how many.
   */
  load(store: Store, version: string, wanted: UuidFilter = () => true): number {
    const generation = allocationGeneration(store);
    const rows = savedAnswers(store, version, generation);
    const mine = rows.filter((r) => wanted(r.uuid));
    if (mine.length === 0) return 0;
    this.#clear();
    this.#generation = generation;
    // Rows saved at different points: checking from the oldest only drops more, never less.
    this.#lastDenialId = mine.reduce((min, r) => Math.min(min, r.lastDenialId), Number.MAX_SAFE_INTEGER);
    for (const r of mine) this.put(store, r.uuid, r.key, JSON.parse(r.answer) as unknown, r.weight);
    return mine.length;
  }

  #invalidate(store: Store): void {
    const generation = allocationGeneration(store);
    if (generation !== this.#generation) {
      this.#clear();
      this.#generation = generation;
      this.#lastDenialId = latestDenialId(store);
      return;
    }
    const fresh = denialLabelsAfter(store, this.#lastDenialId);
    for (const [id, hostId, scategories, profile] of fresh) {
      this.#lastDenialId = id;
      const key = labelKey(hostId, profile !== null ? `aa:${profile}` : (scategories ?? ''));
      const affected = this.#byLabel.get(key);
      if (!affected) continue;
      for (const uuid of affected) {
        for (const { weight } of this.#entries.get(uuid)?.values() ?? []) this.#weight -= weight;
        this.#entries.delete(uuid);
      }
      this.#byLabel.delete(key);
    }
  }

  #clear(): void {
    this.#entries.clear();
    this.#byLabel.clear();
    this.#weight = 0;
  }
}
