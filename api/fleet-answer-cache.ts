/**
 * The central server's answer cache. A fleet summary reads every denial of the VM on
 * every host (bench/fleet: tens of ms of PostgreSQL time), and the same questions come
 * again (a dashboard, an analyst paging back). An answer stays right until the rows it
 * was computed from change, and rows change only when a host ships: each host's shipping
 * position is a version of its rows. An answer about a VM depends on the hosts the VM ran
 * on and on every allocation change (a VM starting on another host brings that host in);
 * a fleet-wide page depends on every host; every answer depends on `fleet prune`, which
 * removes rows without a host shipping (its generation). The versions are read from ship_position (one
 * row per host) at most every `refreshMs`, so an answer may trail the fleet by that much
 * on top of the shipping lag.
 */

import type { FleetPool } from '../store/postgres/connect.js';
import { shipVersions } from '../store/postgres/fleet-hosts.js';

/** What an answer was computed from: the versions of these hosts (all of them: 'all'). */
export type AnswerDeps = { hosts: readonly string[] } | 'all';

export interface CachedAnswer {
  key: string;
  body: string;
  seen: string;
  deps: AnswerDeps;
}

interface Entry {
  body: string;
  /** The versions seen when it was computed, as one string (host=version,…;allocations). */
  seen: string;
  deps: AnswerDeps;
}

export class FleetAnswerCache {
  readonly #pool: FleetPool;
  readonly #refreshMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  #versions: { hosts: Map<string, number>; allocations: number; pruned: number } = {
    hosts: new Map(),
    allocations: -1,
    pruned: -1,
  };
  #readAt = 0;
  #reading: Promise<void> | undefined;
  hits = 0;
  misses = 0;

  constructor(pool: FleetPool, options: { refreshMs?: number; maxEntries?: number } = {}) {
    this.#pool = pool;
    this.#refreshMs = options.refreshMs ?? 250;
    this.#maxEntries = options.maxEntries ?? 5000;
  }

  /** The answer for `key`, from the cache while its hosts have shipped nothing since. */
  async answer(key: string, deps: AnswerDeps, compute: () => Promise<string>): Promise<string> {
    await this.#fresh();
    const seen = this.#seen(deps);
    const hit = this.#entries.get(key);
    if (hit && hit.seen === seen) {
      this.hits++;
      // Most recently used last: the first entry is the one to evict.
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit.body;
    }
    this.misses++;
    const body = await compute();
    this.#entries.delete(key);
    this.#entries.set(key, { body, seen, deps });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    return body;
  }

  /** The entries whose key starts with `prefix`, least recently used first (to be saved). */
  entries(prefix: string): CachedAnswer[] {
    return [...this.#entries].filter(([key]) => key.startsWith(prefix)).map(([key, e]) => ({ key, ...e }));
  }

  /**
   * Entries saved by an earlier run: each is served only while the versions it was computed
   * at are still the fleet's (the same check as for any entry), so a stale one is computed again.
   */
  restore(entries: readonly CachedAnswer[]): void {
    for (const e of entries.slice(-this.#maxEntries))
      this.#entries.set(e.key, { body: e.body, seen: e.seen, deps: e.deps });
  }

  #seen(deps: AnswerDeps): string {
    const { hosts, allocations, pruned } = this.#versions;
    const names = deps === 'all' ? [...hosts.keys()].sort() : deps.hosts;
    return `${names.map((h) => `${h}=${hosts.get(h) ?? 0}`).join(',')};${allocations};${pruned}${deps === 'all' ? `;${hosts.size}` : ''}`;
  }

  async #fresh(): Promise<void> {
    if (Date.now() - this.#readAt < this.#refreshMs) return;
    this.#reading ??= shipVersions(this.#pool)
      .then((v) => {
        this.#versions = v;
        this.#readAt = Date.now();
      })
      .finally(() => {
        this.#reading = undefined;
      });
    await this.#reading;
  }
}
