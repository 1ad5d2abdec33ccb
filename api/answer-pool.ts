/**
 * Where the read answers of api/answers.ts run. `InProcessAnswers` runs them on the
 * request's thread. `AnswerPool` runs them on worker threads, each with its own read
 * connection (SQLite's WAL lets readers run beside the collector's writer): the queries
 * are synchronous, and on one thread every request waited for every other one's query
 * while a second core sat idle (bench/api).
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { isSvirtAuditError, SvirtAuditError, type ErrorCode } from '../core/errors.js';
import { storeErrorOf } from '../store/store.js';
import { resolveVm } from '../store/allocations.js';
import type { Store } from '../store/store.js';
import { type SavedAnswers, VmAnswerCache } from './vm-answer-cache.js';
import { answerJson, type AnswerArgs, type AnswerName } from './answers.js';

export interface Answerer {
  /**
   * The answer's JSON body. `key` (a VM reference) sends requests about one VM to the
   * same thread, so its summary is cached once.
   */
  ask<N extends AnswerName>(name: N, args: AnswerArgs[N], key?: string): Promise<string>;
  /** Compute the summaries of these VMs ahead of their first request; resolves with how many. */
  warm(vms: readonly { uuid: string; name: string }[]): Promise<number>;
  /** Save the cached summaries for the next start (answer_cache); resolves with how many. */
  save(store: Store): Promise<number>;
  close(): Promise<void>;
}

/** The thread of `threads` that answers about `key` (a VM reference). */
export function shardOf(key: string, threads: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(h) % threads;
}

/**
 * The uuid of VM `ref` (a name or uuid), to route and ask by: a VM asked about by name
 * and by uuid is then answered and cached by one thread, once. An unknown or ambiguous
 * name fails here, before any thread is asked.
 */
export function vmAnswerUuid(store: Store, ref: string): string {
  return resolveVm(store, ref).uuid;
}

/** What each worker is started with. */
export interface AnswerWorkerData {
  dbPath: string;
  version: string;
  index: number;
  threads: number;
}

/** Messages between the pool and its workers (api/answer-worker.ts). */
export type AnswerRequest =
  | { id: number; kind: 'ask'; name: AnswerName; args: AnswerArgs[AnswerName] }
  | { id: number; kind: 'warm'; vms: { uuid: string; name: string }[] }
  | { id: number; kind: 'saved' };

export type AnswerReply =
  | { id: number; ok: true; body: string; warmed?: number; saved?: SavedAnswers }
  | { id: number; ok: false; code?: ErrorCode; message: string; hint?: string };

export class InProcessAnswers implements Answerer {
  readonly #store: Store;
  readonly #cache: VmAnswerCache | undefined;
  readonly #version: string;
  #closed = false;

  /**
   * Without `cached` every answer is computed (what tests want); with it, answers are
   * cached and the summaries a previous server of this version saved are loaded.
   */
  constructor(store: Store, cached?: { version: string }) {
    this.#store = store;
    this.#version = cached?.version ?? '';
    if (cached) {
      this.#cache = new VmAnswerCache();
      this.#cache.load(store, cached.version);
    }
  }

  async ask<N extends AnswerName>(name: N, args: AnswerArgs[N]): Promise<string> {
    return answerJson(this.#store, this.#cache, name, args);
  }

  async warm(vms: readonly { uuid: string; name: string }[]): Promise<number> {
    return this.#cache ? this.#cache.warm(this.#store, vms, () => this.#closed) : 0;
  }

  async save(store: Store): Promise<number> {
    return this.#cache ? VmAnswerCache.save(store, this.#version, [this.#cache.saved()]) : 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

interface Pending {
  resolve: (reply: AnswerReply & { ok: true }) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  /** False from the thread's exit until its replacement is started. */
  alive: boolean;
}

/** A thread that dies sooner than this after its start is replaced only after this long. */
const RESPAWN_BACKOFF_MS = 5000;

/** The default number of answer threads: one per core, at least one, at most four. */
export function defaultAnswerThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism()));
}

export class AnswerPool implements Answerer {
  readonly #dbPath: string;
  readonly #version: string;
  readonly #script: URL;
  readonly #workers: PoolWorker[] = [];
  readonly #onError: (error: Error) => void;
  readonly #threads: number;
  #nextId = 1;
  #closing = false;

  /**
   * Each thread loads the summaries saved for `version` that it will be asked about.
   * `onError` hears of a worker that died (it is replaced; its requests fail with 500).
   * `script` is the compiled worker (tests running from source pass dist's).
   */
  constructor(
    options: { dbPath: string; version: string; threads: number; onError: (error: Error) => void },
    script = new URL('./answer-worker.js', import.meta.url),
  ) {
    const { dbPath, threads, onError } = options;
    this.#dbPath = dbPath;
    this.#version = options.version;
    this.#script = script;
    this.#onError = onError;
    this.#threads = threads;
    for (let i = 0; i < threads; i++) this.#workers.push(this.#spawn(i));
  }

  #spawn(index: number): PoolWorker {
    const workerData: AnswerWorkerData = {
      dbPath: this.#dbPath,
      version: this.#version,
      index,
      threads: this.#threads,
    };
    const worker = new Worker(this.#script, { workerData });
    const slot: PoolWorker = { worker, pending: new Map(), alive: true };
    const started = Date.now();
    worker.on('message', (reply: AnswerReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(reply.code ? new SvirtAuditError(reply.code, reply.message, reply.hint) : new Error(reply.message));
    });
    const fail = (error: Error) => {
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
    };
    worker.on('error', (error) => {
      fail(error);
      this.#onError(error);
    });
    worker.on('exit', (code) => {
      slot.alive = false;
      fail(new Error(`answer thread exited with code ${code}`));
      if (this.#closing) return;
      // A thread that cannot even start (its database unreadable) must not spin: back off.
      const respawn = () => {
        if (!this.#closing) this.#workers[index] = this.#spawn(index);
      };
      if (Date.now() - started < RESPAWN_BACKOFF_MS) setTimeout(respawn, RESPAWN_BACKOFF_MS).unref();
      else respawn();
    });
    return slot;
  }

  /** The thread for `key` (any live one while it is down), else the least busy; undefined if none lives. */
  #pick(key: string | undefined): PoolWorker | undefined {
    if (key !== undefined) {
      const keyed = this.#workers[shardOf(key, this.#workers.length)] as PoolWorker;
      if (keyed.alive) return keyed;
    }
    let best: PoolWorker | undefined;
    for (const w of this.#workers) if (w.alive && (!best || w.pending.size < best.pending.size)) best = w;
    return best;
  }

  #send(slot: PoolWorker | undefined, request: AnswerRequest): Promise<AnswerReply & { ok: true }> {
    if (this.#closing) return Promise.reject(new Error('the answer pool is closed'));
    if (!slot?.alive) return Promise.reject(new Error('no answer thread is running; see the log for why'));
    return new Promise((resolve, reject) => {
      slot.pending.set(request.id, { resolve, reject });
      slot.worker.postMessage(request);
    });
  }

  async ask<N extends AnswerName>(name: N, args: AnswerArgs[N], key?: string): Promise<string> {
    return (await this.#send(this.#pick(key), { id: this.#nextId++, kind: 'ask', name, args })).body;
  }

  async warm(vms: readonly { uuid: string; name: string }[]): Promise<number> {
    // Each thread warms the VMs whose requests it will get.
    const shares = new Map<PoolWorker | undefined, { uuid: string; name: string }[]>();
    for (const vm of vms) {
      const slot = this.#pick(vm.uuid);
      shares.set(slot, [...(shares.get(slot) ?? []), vm]);
    }
    const replies = await Promise.all(
      [...shares].map(([slot, share]) => this.#send(slot, { id: this.#nextId++, kind: 'warm', vms: share })),
    );
    return replies.reduce((n, r) => n + (r.warmed ?? 0), 0);
  }

  async save(store: Store): Promise<number> {
    const live = this.#workers.filter((w) => w.alive);
    const replies = await Promise.all(live.map((w) => this.#send(w, { id: this.#nextId++, kind: 'saved' })));
    return VmAnswerCache.save(
      store,
      this.#version,
      replies.flatMap((r) => (r.saved ? [r.saved] : [])),
    );
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }
}

/** The reply a worker sends for an error (SvirtAuditErrors keep their code and hint). */
export function errorReply(id: number, thrown: unknown): AnswerReply {
  const error = storeErrorOf(thrown) ?? thrown;
  if (isSvirtAuditError(error)) {
    return {
      id,
      ok: false,
      code: error.code,
      message: error.message,
      ...(error.hint !== undefined && { hint: error.hint }),
    };
  }
  return { id, ok: false, message: error instanceof Error ? error.message : String(error) };
}
