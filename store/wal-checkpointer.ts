/**
 * WAL checkpoints on a thread of their own while a backfill writes.
 *
 * Optimization (bench/ingest): SQLite copies the WAL back into the database file
 * (a checkpoint) in whichever commit finds the WAL over its bound, on the writing thread:
 * 14% of a backfill's time. A second connection on a worker thread can do the same work
 * with PASSIVE checkpoints (they never block the writer, and the writer never waits for
 * them) on the core the writer leaves idle. The writer keeps a much larger automatic
 * bound as a safety net, so the WAL stays bounded if this thread falls behind or dies.
 *
 * The worker is a few lines of plain JavaScript evaluated in place rather than a module
 * file, so the same code runs from the compiled tree and from the sources under test.
 */

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Store } from './store.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
let backfilled = 0;
const checkpoint = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r && r.checkpointed > 0) backfilled++;
  } catch {
    // Busy or gone: the writer's own bound still holds; try again at the next tick.
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.postMessage(backfilled);
  parentPort.close();
});
`;

/** The writer's own bound while the thread runs: it checkpoints only if the thread falls behind. */
const SAFETY_BOUND_BYTES = 256 << 20;

export class WalCheckpointer {
  readonly #store: Store;
  readonly #worker: Worker | undefined;
  readonly #previousBound: number;
  #stopped: Promise<number> | undefined;

  private constructor(store: Store, worker: Worker | undefined, previousBound: number) {
    this.#store = store;
    this.#worker = worker;
    this.#previousBound = previousBound;
  }

  /** Start checkpointing `store`'s file every `intervalMs` on a worker thread. */
  static start(store: Store, intervalMs = 100): WalCheckpointer {
    const db = store.db;
    const previousBound = db.pragma('wal_autocheckpoint', { simple: true }) as number;
    if (db.memory || db.readonly || db.pragma('journal_mode', { simple: true }) !== 'wal') {
      return new WalCheckpointer(store, undefined, previousBound);
    }
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: store.path, intervalMs, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    // Never keep the process alive, and never take it down: without the thread the
    // writer's own bound does the work, as it did before.
    worker.unref();
    worker.on('error', () => undefined);
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    db.pragma(`wal_autocheckpoint = ${Math.ceil(SAFETY_BOUND_BYTES / pageSize)}`);
    return new WalCheckpointer(store, worker, previousBound);
  }

  /**
   * Stop after one last checkpoint, give the writer its own bound back, and resolve to
   * how many checkpoints copied pages (0 when the thread could not run).
   */
  stop(): Promise<number> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<number> {
    const worker = this.#worker;
    let backfilled = 0;
    if (worker !== undefined) {
      backfilled = await new Promise<number>((resolve) => {
        worker.once('message', (n: number) => resolve(n));
        worker.once('exit', () => resolve(0));
        worker.postMessage('stop');
      });
      await worker.terminate();
    }
    if (this.#store.db.open) this.#store.db.pragma(`wal_autocheckpoint = ${this.#previousBound}`);
    return backfilled;
  }
}
