/**
 * Following /var/log/audit/audit.log across rotation, with nothing lost or doubled.
 *
 * auditd rotates by renaming audit.log to audit.log.1 and opening a new audit.log;
 * logrotate may copy and truncate instead. The follower keeps its descriptor on the file
 * it reads: when the path names another file, it drains the old one to its end first,
 * then moves on; when the file shrinks, it was truncated and reading restarts at 0 as a
 * new source. A path that is briefly absent is waited for. Polling drives the loop;
 * fs.watch on the directory only wakes it early (it misses events on some filesystems).
 *
 * Why not the `tail` package (2.2.6): it follows a renamed file by name from the old
 * byte offset and cannot start from a saved offset; see docs/decisions.md.
 */

import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  statSync,
  watch,
  type FSWatcher,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { SvirtAuditError } from '../core/errors.js';
import { followedSince, lastCheckpointTime, type SourceRow } from '../store/audit-trail.js';
import type { Store } from '../store/store.js';
import { AuditStream } from './audit-stream.js';
import { ingestFiles, resolveSource } from './backfill.js';
import { unreadRotatedFiles } from './rotated-files.js';
import { headHashOfFd } from './file-identity.js';
import { StoreWriter, type StoredEvent } from './store-writer.js';

export interface FollowOptions {
  path: string;
  localHost: string;
  /** How often to look for new bytes when nothing woke us (ms). */
  pollMs?: number;
  /** A batch is committed when it holds this many events… */
  batchEvents?: number;
  /** …or when its oldest event has waited this long (ms): the bound on how stale a query can be. */
  batchMaxAgeMs?: number;
  /** An open event whose newest record is this old in wall time is emitted (a lone AVC). */
  idleFlushMs?: number;
  onStored?: (events: StoredEvent[]) => void;
  /** A problem that does not stop following (database busy, file missing); said loudly. */
  onWarning?: (message: string) => void;
}

export interface FollowerStatus {
  path: string;
  /** Bytes in the current file after what has been read. */
  lagBytes: number;
  /** Seconds since the newest stored event's audit time, while bytes are unread. */
  lagSeconds: number;
  checkpoint: number;
  writer: StoreWriter['counts'];
  /** Consecutive failed commits (0 when the last one worked). */
  failedCommits: number;
}

const CHUNK = 1 << 20;
/** After a failed commit, the next try waits 100 ms, doubling up to 5 s… */
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;
/** …and the same failure is said again at most once a minute while it lasts. */
const REPEAT_WARNING_MS = 60_000;

/**
 * Throws BAD_INPUT when `path` can never be followed: a directory, or anything else that is
 * not a regular file (a FIFO would block the open, and the whole service with it; a device
 * has no end). An absent file is fine (it is waited for: auditd not started yet, or a
 * rotation in progress).
 */
export function assertFollowable(path: string): void {
  if (!existsSync(path)) return;
  const st = statSync(path);
  if (st.isDirectory()) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `cannot follow ${path}: it is a directory`,
      `name the log file in it, e.g. --follow ${path.replace(/\/$/, '')}/audit.log`,
    );
  }
  if (!st.isFile()) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `cannot follow ${path}: it is not a regular file (${st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : 'a device'})`,
      'follow the log file auditd writes; to take records from a pipe, use collect --audisp (stdin)',
    );
  }
}

export class AuditFileFollower {
  readonly #store: Store;
  readonly #options: Required<Omit<FollowOptions, 'onStored' | 'onWarning'>> &
    Pick<FollowOptions, 'onStored' | 'onWarning'>;
  readonly #writer: StoreWriter;
  #fd: number | undefined;
  #ino = -1;
  #dev = -1;
  #position = 0;
  #stream: AuditStream | undefined;
  #running = false;
  #wake: (() => void) | undefined;
  #watcher: FSWatcher | undefined;
  #batchStarted = 0;
  #lastData = Date.now();
  #newestStoredTime = 0;
  #failedCommits = 0;
  /** While commits fail: when to try again, and the failure last said (and when). */
  #retryAt = 0;
  #failureSaid: { message: string; at: number } | undefined;
  #committedCheckpoint = -1;
  #source: SourceRow | undefined;
  /** When this path was first followed (stored): rotated files changed since were written while we followed. */
  #followedSince: number | undefined;
  /** What `PATH.1` was when rotated files were last looked at (a cheap stat tells when to look again). */
  #rotatedSeen: string | undefined;
  /** The file read is done (rotated or truncated) and its last batch is not committed yet. */
  #retiring: 'rotated' | 'truncated' | undefined;
  #loop: Promise<void> | undefined;

  constructor(store: Store, options: FollowOptions) {
    this.#store = store;
    this.#options = {
      pollMs: 200,
      batchEvents: 500,
      batchMaxAgeMs: 100,
      idleFlushMs: 1000,
      ...options,
    };
    this.#writer = new StoreWriter(store, { localHost: options.localHost, sourceId: null });
    this.#writer.onStored = (events) => {
      for (const e of events) if (e.event.time > this.#newestStoredTime) this.#newestStoredTime = e.event.time;
      this.#options.onStored?.(events);
    };
  }

  /**
   * Start following. First catch up on rotated files (audit.log.N … audit.log.1) that were
   * written while we were stopped: the rest of a file we were reading, and files that
   * appeared since our last checkpoint. Then follow the path until stop().
   */
  async start(): Promise<void> {
    if (this.#running) return;
    assertFollowable(this.#options.path);
    // At the first start this is now: rotated files older than that are history, not ours.
    this.#followedSince = this.#store.transaction(() => followedSince(this.#store, this.#options.path));
    await this.#catchUpRotated();
    this.#running = true;
    try {
      this.#watcher = watch(dirname(this.#options.path), () => this.#wake?.());
      this.#watcher.on('error', () => undefined);
    } catch {
      this.#watcher = undefined;
    }
    this.#loop = this.#run();
  }

  /**
   * Stop: commit what is complete and its checkpoint, and close the file. Events still
   * open are not stored: their records lie after the checkpoint and are read again next time.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    this.#watcher?.close();
    await this.#loop;
    this.#commit(true, this.#retiring ? this.#stream?.completeOffset : undefined);
    this.#close();
  }

  status(): FollowerStatus {
    let size = this.#position;
    try {
      if (this.#fd !== undefined) size = fstatSync(this.#fd).size;
    } catch {
      size = this.#position;
    }
    const lagBytes =
      Math.max(0, size - this.#position) + (this.#stream ? this.#position - this.#stream.checkpointOffset : 0);
    return {
      path: this.#options.path,
      lagBytes,
      lagSeconds:
        lagBytes > 0 && this.#newestStoredTime > 0 ? Math.max(0, (Date.now() - this.#newestStoredTime) / 1000) : 0,
      checkpoint: this.#stream?.checkpointOffset ?? this.#position,
      writer: this.#writer.counts,
      failedCommits: this.#failedCommits,
    };
  }

  /**
   * Read what rotated past us: at start (the rest of the file we were reading, files that
   * appeared while we were stopped) and whenever we are between files (a rename or a
   * truncation, or a file that was written and rotated before we ever opened it). Only
   * looks when `PATH.1` changed since the last look.
   */
  async #catchUpRotated(): Promise<void> {
    const path = this.#options.path;
    // Reading yields to the event loop, and auditd may rotate meanwhile: look again until
    // PATH.1 stayed the same through a whole pass (found by the property test: a file
    // written and rotated twice during the catch-up was never read).
    for (;;) {
      const seen = this.#rotatedKey();
      if (seen === this.#rotatedSeen) return;
      const since = lastCheckpointTime(this.#store, path) ?? this.#followedSince;
      await this.#readRotated(unreadRotatedFiles(this.#store, path, since));
      this.#rotatedSeen = seen;
    }
  }

  /** What `PATH.1` is now (identity, size, time), to tell whether rotated files changed. */
  #rotatedKey(): string {
    try {
      const st = statSync(`${this.#options.path}.1`);
      return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'none';
    }
  }

  /** Read rotated files to their ends (they are no longer written), oldest first. */
  async #readRotated(files: string[]): Promise<void> {
    if (files.length === 0) return;
    const summary = await ingestFiles(this.#store, files, {
      localHost: this.#options.localHost,
      filesAreFinished: true,
      ...(this.#options.onStored && { onStored: this.#options.onStored }),
    });
    if (summary.writer.stored > 0)
      this.#options.onWarning?.(
        `caught up on ${files.length} rotated file(s) (${files.map((f) => basename(f)).join(', ')}): ${summary.writer.stored} events`,
      );
  }

  async #run(): Promise<void> {
    while (this.#running) {
      // Backing off after a failed commit: nothing new is read while the store refuses
      // (what is held stays bounded) and the store is not hammered.
      if (this.#failedCommits > 0 && Date.now() < this.#retryAt) {
        await this.#pause(Math.min(this.#options.pollMs, this.#retryAt - Date.now()));
        continue;
      }
      try {
        if (this.#retiring) await this.#retire();
        if (!this.#retiring && this.#fd === undefined) {
          await this.#catchUpRotated();
          this.#open();
        }
        if (this.#fd !== undefined && !this.#retiring) {
          // A truncated file that has already grown past our position shows only in its head.
          if (this.#headChanged()) this.#checkRotation(true);
          if (!this.#retiring && this.#readAvailable() === 0) this.#checkRotation(false);
          if (!this.#retiring) this.#idle();
        }
        this.#commit(false);
      } catch (error) {
        this.#options.onWarning?.(`follow ${this.#options.path}: ${(error as Error).message}`);
      }
      if (!this.#running) break;
      await this.#pause(this.#options.pollMs);
    }
  }

  /** Wait `ms`, or until the directory watcher or stop() wakes us. */
  async #pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  /** Open the path at its checkpoint; leave it closed if it is absent or still empty. */
  #open(): void {
    let fd: number;
    try {
      // Non-blocking: a FIFO put at the path later must not hang the process in open().
      fd = openSync(this.#options.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return; // absent: rotation in progress, or auditd not started yet
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new Error('the path is no longer a regular file; waiting for auditd to write one there');
    }
    if (st.size === 0) {
      closeSync(fd); // an empty file has no identity yet
      return;
    }
    let source: SourceRow;
    try {
      source = this.#store.transaction(() => resolveSource(this.#store, fd, this.#options.path));
    } catch (error) {
      closeSync(fd);
      this.#commitFailed(error);
      return;
    }
    this.#fd = fd;
    this.#ino = Number(st.ino);
    this.#dev = Number(st.dev);
    this.#position = source.offset;
    this.#source = source;
    this.#writer.setSource(source.id);
    this.#committedCheckpoint = source.offset;
    this.#stream = new AuditStream(this.#writer, { startOffset: source.offset });
  }

  /**
   * Read what the file has now. Stops early when a batch cannot be committed, unless
   * `drain` (the file is done and must be read to its end before it is left).
   */
  #readAvailable(drain = false): number {
    const fd = this.#fd as number;
    const stream = this.#stream as AuditStream;
    const buf = Buffer.allocUnsafe(CHUNK);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, this.#position);
      if (n === 0) break;
      this.#position += n;
      total += n;
      stream.push(buf.subarray(0, n));
      if (this.#batchStarted === 0 && this.#writer.pending > 0) this.#batchStarted = Date.now();
      if (this.#writer.pending >= this.#options.batchEvents && this.#failedCommits === 0) this.#commit(false);
      if (this.#failedCommits > 0 && !drain) break;
    }
    if (total > 0) this.#lastData = Date.now();
    return total;
  }

  #headChanged(): boolean {
    const source = this.#source;
    if (!source || this.#fd === undefined) return false;
    try {
      const st = fstatSync(this.#fd);
      return st.size < source.headBytes || headHashOfFd(this.#fd, source.headBytes) !== source.headHash;
    } catch {
      return false;
    }
  }

  /** At the end of the file: did the path move to another file, or was this one truncated? */
  #checkRotation(headChanged: boolean): void {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(this.#options.path);
    } catch {
      return; // briefly absent between rename and create: keep reading the old file
    }
    const replaced = Number(st.ino) !== this.#ino || Number(st.dev) !== this.#dev;
    const truncated = !replaced && (headChanged || st.size < this.#position);
    if (!replaced && !truncated) return;
    if (replaced) this.#readAvailable(true); // drain what was written before the rename
    // copytruncate: the unread tail is only in the copy. A copy of our own file, drained
    // here, is not read again by the catch-up between files; anything else in PATH.1 is.
    this.#rotatedSeen = truncated && this.#drainCopy() ? this.#rotatedKey() : undefined;
    // The old file is done: its open events are complete as far as it goes.
    (this.#stream as AuditStream).end();
    this.#retiring = replaced ? 'rotated' : 'truncated';
  }

  /**
   * Commit the last batch of the file that is done, under its own source and checkpoint,
   * then move on. A failed commit (database busy) keeps us here and is retried on the next
   * turn: moving on would store the old file's events under the new file's source and
   * leave the old checkpoint behind. Files that rotated past us while we stalled (auditd
   * rotated twice, or logrotate copied twice) are read before the new file.
   */
  async #retire(): Promise<void> {
    if (!this.#commit(true, (this.#stream as AuditStream).completeOffset)) return;
    this.#close();
    this.#options.onWarning?.(
      `${basename(this.#options.path)} was ${this.#retiring}; reading the new file from its start`,
    );
    this.#retiring = undefined;
    // Between files: what rotated past us is read first, then the new file is opened.
    await this.#catchUpRotated();
    this.#open();
  }

  /**
   * After copytruncate, the bytes we had not read yet live only in the copy (path.1). If
   * its first bytes match the source we were reading, read it from our position to its end.
   * True when path.1 is that copy (drained, or holding nothing we had not read).
   */
  #drainCopy(): boolean {
    const copy = `${this.#options.path}.1`;
    let fd: number;
    try {
      fd = openSync(copy, 'r');
    } catch {
      return false;
    }
    try {
      const source = this.#source;
      if (!source || headHashOfFd(fd, source.headBytes) !== source.headHash) return false;
      const buf = Buffer.allocUnsafe(CHUNK);
      for (let at = this.#position; ;) {
        const n = readSync(fd, buf, 0, CHUNK, at);
        if (n === 0) break;
        at += n;
        (this.#stream as AuditStream).push(buf.subarray(0, n));
      }
      return true;
    } finally {
      closeSync(fd);
    }
  }

  #idle(): void {
    const stream = this.#stream;
    if (!stream || stream.inFlight === 0) return;
    if (Date.now() - this.#lastData >= this.#options.idleFlushMs) {
      stream.flushIdle(Date.now(), this.#options.idleFlushMs);
      // Audit time can lag wall time (a replayed file): emit what is open once the file is quiet.
      if (stream.inFlight > 0) stream.flushIdle(Number.MAX_SAFE_INTEGER, 0);
    }
  }

  /**
   * Commit the batch if it is due (or `force`), with the checkpoint; on failure keep it and
   * retry. False when a commit was due and failed.
   */
  #commit(force: boolean, checkpoint?: number): boolean {
    const stream = this.#stream;
    if (!stream) return true;
    const due =
      force ||
      this.#writer.pending >= this.#options.batchEvents ||
      (this.#writer.pending > 0 && Date.now() - this.#batchStarted >= this.#options.batchMaxAgeMs) ||
      (checkpoint ?? stream.checkpointOffset) !== this.#committedCheckpoint;
    if (!due) return true;
    try {
      const at = checkpoint ?? stream.checkpointOffset;
      this.#writer.flush(at);
      this.#committedCheckpoint = at;
      this.#batchStarted = 0;
      if (this.#failedCommits > 0) {
        this.#options.onWarning?.(
          `the database takes writes again after ${this.#failedCommits} failed attempt(s); nothing was lost`,
        );
        this.#failedCommits = 0;
        this.#failureSaid = undefined;
      }
      return true;
    } catch (error) {
      this.#commitFailed(error);
      return false;
    }
  }

  /**
   * A write the store refused (busy, disk full, read-only): retried with back-off, the
   * checkpoint not moved, nothing lost. Said once, and again only when the reason changes
   * or a minute has passed, so a full disk does not fill the journal too.
   */
  #commitFailed(error: unknown): void {
    this.#failedCommits++;
    const now = Date.now();
    this.#retryAt = now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.#failedCommits - 1, 10));
    const message = (error as Error).message;
    const said = this.#failureSaid;
    if (said && said.message === message && now - said.at < REPEAT_WARNING_MS) return;
    this.#failureSaid = { message, at: now };
    this.#options.onWarning?.(
      `cannot write to the database (attempt ${this.#failedCommits}; holding ${this.#writer.pending} events, checkpoint not advanced; retrying every ${MAX_RETRY_MS / 1000} s at most, said again in a minute if it lasts): ${message}`,
    );
  }

  #close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#stream = undefined;
  }
}
