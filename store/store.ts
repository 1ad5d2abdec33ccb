/**
 * store/ owns the SQLite file: opening it safely, migrating it, and every SQL statement.
 * Callers get typed functions (allocations.ts, relabels.ts, …) and domain errors, never SQL.
 *
 * This module opens the file and hands out cached prepared statements: a statement is
 * prepared on first use only, so a short-lived process (the libvirt hook) pays only for
 * the statements it runs.
 */

import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { SvirtAuditError } from '../core/errors.js';
import { migrate } from './migrate.js';

export type Statement = Database.Statement;

export interface OpenStoreOptions {
  /** How long a write waits for another writer before DB_BUSY (ms). */
  busyTimeoutMs?: number;
  /**
   * `full` syncs every commit (launch-side records: few, each one matters);
   * `normal` may lose the last commits on power loss but never corrupts (the collector,
   * which re-reads the log from its checkpoint). See docs/decisions.md.
   */
  durability?: 'full' | 'normal';
  readonly?: boolean;
}

export class Store {
  readonly db: Database.Database;
  readonly path: string;
  readonly #statements = new Map<string, Statement>();
  readonly #rawStatements = new Map<string, Statement>();
  /**
   * Ids of rows this connection found or wrote: hosts (store/hosts.ts) and denial shapes
   * (store/denial-shape.ts). Cleared when a transaction fails, since its rows are gone.
   */
  readonly hostIds = new Map<string, number>();
  readonly shapeIds = new Map<string, { id: number; lastTime: number }>();
  /** PRAGMA data_version when shapeIds was last checked: another connection's prune may delete shapes. */
  shapeIdsVersion = -1;

  constructor(db: Database.Database, path: string) {
    this.db = db;
    this.path = path;
  }

  /**
   * The prepared statement for `sql` returning rows as arrays, prepared once per
   * connection and kept apart from statement(sql): raw mode is a statement's state, and a
   * shared statement switched to it would hand arrays to a caller expecting objects.
   */
  rawStatement(sql: string): Statement {
    let stmt = this.#rawStatements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql).raw(true);
      this.#rawStatements.set(sql, stmt);
    }
    return stmt;
  }

  /** The prepared statement for `sql`, prepared once per connection. */
  statement(sql: string): Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /**
   * Run `fn` in one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so
   * a read-then-write (pick a free label, insert it) cannot race another process.
   * Commits on return, rolls back on throw. `fn` must be synchronous.
   */
  immediate<T>(fn: () => T): T {
    return this.#forgetOnFailure(() => translateSqliteError(() => this.db.transaction(fn).immediate()));
  }

  /** Run `fn` in a deferred transaction (batches of reads or independent writes). */
  transaction<T>(fn: () => T): T {
    return this.#forgetOnFailure(() => translateSqliteError(() => this.db.transaction(fn)()));
  }

  #forgetOnFailure<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      this.hostIds.clear();
      this.shapeIds.clear();
      throw error;
    }
  }

  /** Throws DB_BUSY or the SQLite error when the database cannot take a write now. */
  probeWritable(): void {
    translateSqliteError(() => {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * The database path when none is given: `$SVIRT_AUDIT_DB`, else
 * `/var/lib/svirt-audit/audit.db` for root, else `$XDG_STATE_HOME/svirt-audit/audit.db`.
 */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SVIRT_AUDIT_DB) return env.SVIRT_AUDIT_DB;
  if (process.getuid?.() === 0) return '/var/lib/svirt-audit/audit.db';
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'svirt-audit', 'audit.db');
}

/**
 * Open (creating if needed, mode 0600 in a 0700 directory) and migrate the database.
 * Throws DB_OPEN when the file cannot be created or read, DB_TOO_NEW when a newer
 * svirt-audit wrote it, DB_BUSY when another writer holds it past the timeout.
 */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const readonly = options.readonly ?? false;
  if (!readonly) createPrivately(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (error) {
    throw new SvirtAuditError(
      'DB_OPEN',
      `cannot open database ${path}: ${(error as Error).message}`,
      readonly
        ? 'check the path, or run a write command first to create it'
        : 'check the path and its permissions, or pass --db',
    );
  }
  const store = new Store(db, path);
  try {
    // Many processes opening a fresh file at once (hooks at boot) race to switch it to WAL
    // and migrate it; SQLite answers SQLITE_BUSY there without waiting, so retry until the
    // busy timeout has passed.
    retryWhileBusy(options.busyTimeoutMs ?? 5000, () =>
      translateSqliteError(() => {
        if (!readonly) {
          // A new file gets 16 KiB pages: a quarter of the page splits and WAL frames per
          // denial stored (bench/ingest: writes 20% faster), and answers measured the same
          // (bench/query). An existing file keeps its page size (changing it means VACUUM).
          // Incremental vacuum lets pruning hand freed pages back to the file system in short
          // steps (store/retention.ts); it can only be switched on before the first table.
          if (db.pragma('page_count', { simple: true }) === 0) {
            db.pragma('page_size = 16384');
            db.pragma('auto_vacuum = INCREMENTAL');
          }
          // WAL lets readers (the API, `denials`) run while the collector writes.
          if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
          db.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
          // The collector inserts into several indexes per denial: keep their pages cached.
          // 16 MiB: ingest measured as fast as with 64 MiB (a 200 MB log into a fresh store;
          // a 54 MB one into the 1,000,000-denial store, within 4%), and memory stays flat
          // as the store grows past it (bench/ingest).
          if (options.durability === 'normal') {
            db.pragma('cache_size = -16384');
            // Fewer, larger WAL checkpoints while ingesting (readers are not held up by them):
            // one per 40 MiB of WAL, whatever the page size.
            const pageSize = db.pragma('page_size', { simple: true }) as number;
            db.pragma(`wal_autocheckpoint = ${Math.ceil((40 << 20) / pageSize)}`);
          }
        }
        db.pragma('foreign_keys = ON');
        // Reads through the mapped file skip a system call per page: answers touch many
        // scattered denial rows (bench/query).
        db.pragma('mmap_size = 268435456');
        migrate(store);
      }),
    );
  } catch (error) {
    store.close();
    throw error;
  }
  return store;
}

function retryWhileBusy(timeoutMs: number, fn: () => void): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      fn();
      return;
    } catch (error) {
      const busy = error instanceof SvirtAuditError && error.code === 'DB_BUSY';
      if (!busy || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, 5 + Math.floor(Math.random() * 20));
    }
  }
}

/** Create the file 0600 (and missing directories 0700) before SQLite creates it 0644. */
function createPrivately(path: string): void {
  if (path === ':memory:' || existsSync(path)) return;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  } catch (error) {
    throw new SvirtAuditError(
      'DB_OPEN',
      `cannot create database ${path}: ${(error as Error).message}`,
      'pass --db with a path you can write, or set SVIRT_AUDIT_DB',
    );
  }
}

/** Run `fn`, turning SQLite's errors into domain errors (see storeErrorOf). */
export function translateSqliteError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw storeErrorOf(error) ?? error;
  }
}

/**
 * The domain error for an error SQLite raised (wherever it surfaced: a query, a commit, the
 * open), so that a locked, damaged or full database is exit 5 / HTTP 5xx with what to do,
 * not "unexpected error". Undefined for anything else.
 */
export function storeErrorOf(error: unknown): SvirtAuditError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const detail = (error as Error).message;
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code.startsWith('SQLITE_LOCKED')) {
    return new SvirtAuditError(
      'DB_BUSY',
      'the database is locked by another writer',
      'retry; if it persists, look for a stuck svirt-audit process',
    );
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SvirtAuditError(
      'DB_DAMAGED',
      `the database is damaged or is not a svirt-audit database (${detail})`,
      'move the file aside and restore a backup, or salvage it with `sqlite3 FILE .recover`; the audit logs can be ingested again into a new one',
    );
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_READONLY')) {
    return new SvirtAuditError(
      'DB_WRITE',
      `the database cannot be written (${detail})`,
      code === 'SQLITE_FULL'
        ? 'free space on its file system (df -h), then run the command again: nothing was half-written'
        : 'check the file system it is on (full, mounted read-only, failing) and its permissions',
    );
  }
  return undefined;
}
