/**
 * Shipping a host's history to the fleet's PostgreSQL. The host keeps collecting into its
 * own SQLite file exactly as before (the hook and the collector never wait on the
 * network); the shipper reads what was stored after the position the fleet acknowledged
 * and sends it in batches, each written with the new position in one PostgreSQL
 * transaction (store/postgres/fleet-writes.ts). The position lives in PostgreSQL, not
 * here: after a crash, a lost commit answer or a restore of either side, the next batch
 * starts from what the fleet really has, and keys make a batch sent twice store nothing.
 *
 * PostgreSQL down: the host goes on collecting; the shipper retries with back-off (100 ms
 * doubling to 5 s), says so once, and catches up when the server returns. The lag
 * (rows and seconds behind) is in status() for `ship --status`, /healthz and /metrics.
 */

import { doublingDelay } from '../core/back-off.js';
import { SvirtAuditError } from '../core/errors.js';
import { findHostId, knownHosts } from '../store/hosts.js';
import { fleetError, type FleetPool, openFleet, redactedUrl } from '../store/postgres/connect.js';
import { currentFleetHost } from '../store/postgres/fleet-hosts.js';
import { readShipPosition, writeShippedBatch } from '../store/postgres/fleet-writes.js';
import { localLag, readShippedBatch, type ShipPosition } from '../store/shipped-rows.js';
import type { Store } from '../store/store.js';

export interface ShipperOptions {
  /** The fleet database URL (postgres://…). */
  url: string;
  /** The host whose rows are shipped; by default the host the PostgreSQL role ships for. */
  host?: string;
  /** Rows per stream per batch. */
  batchRows?: number;
  /** How often to look for new rows when caught up (ms). */
  pollMs?: number;
  onWarning?: (message: string) => void;
}

export interface ShipStatus {
  url: string;
  host: string | null;
  /** Rows stored here that the fleet does not have yet (events + denials + relabels + allocation changes). */
  lagRows: number;
  /**
   * Audit time of the newest local event minus that of the newest shipped one (the oldest
   * local one before the first batch); 0 when caught up.
   */
  lagSeconds: number;
  shipped: { rows: number; batches: number; refused: number };
  /** When the fleet last acknowledged a batch (ms), null before the first. */
  lastShippedAt: number | null;
  failures: number;
  lastError: string | null;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

export class Shipper {
  readonly #store: Store;
  readonly #options: Required<Omit<ShipperOptions, 'host' | 'onWarning'>> & Pick<ShipperOptions, 'host' | 'onWarning'>;
  #pool: FleetPool | undefined;
  #host: string | undefined;
  #position: (ShipPosition & { newestTime: number }) | undefined;
  /** The last position the fleet acknowledged: kept while it is unreachable, for the lag. */
  #acknowledged: (ShipPosition & { newestTime: number }) | undefined;
  #running = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  #lastError: string | null = null;
  #lastShippedAt: number | null = null;
  readonly #shipped = { rows: 0, batches: 0, refused: 0 };
  #saidNoHost = false;

  constructor(store: Store, options: ShipperOptions) {
    this.#store = store;
    this.#options = { batchRows: 5000, pollMs: 200, ...options };
  }

  /** Connect, learn which host this role ships for, and read where the fleet stands. */
  async connect(): Promise<void> {
    if (this.#pool) return;
    const pool = await openFleet(this.#options.url, { max: 1 });
    try {
      const mine = await currentFleetHost(pool);
      const host = this.#options.host ?? mine;
      if (host === undefined)
        throw new SvirtAuditError(
          'FLEET_REFUSED',
          `the role of ${redactedUrl(this.#options.url)} ships for no host`,
          'the fleet administrator runs: svirt-audit fleet add-host NAME --role ROLE --db postgres://…',
        );
      this.#host = host;
      this.#position = await readShipPosition(pool, host);
      this.#acknowledged = this.#position;
      this.#pool = pool;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw fleetError(error, this.#options.url);
    }
  }

  /**
   * Send one batch. Resolves with the rows it carried (0: caught up). Throws when the
   * fleet cannot be reached or refuses; the next call reconnects and re-reads the position.
   */
  async shipOnce(): Promise<number> {
    try {
      await this.connect();
      const host = this.#host as string;
      const hostId = findHostId(this.#store, host);
      if (hostId === undefined) {
        // Nothing of this host stored yet; if the file holds other hosts' records, the role
        // ships for a name this host does not go by: say so once.
        const others = knownHosts(this.#store);
        if (others.length > 0 && !this.#saidNoHost) {
          this.#saidNoHost = true;
          this.#options.onWarning?.(
            `the role ships for host ${host}, but this database holds records of ${others.join(', ')} only; nothing is shipped (the administrator names the host in fleet add-host; or pass --host)`,
          );
        }
        return 0;
      }
      const position = this.#position as ShipPosition & { newestTime: number };
      const batch = readShippedBatch(this.#store, hostId, position, this.#options.batchRows);
      const rows =
        batch.allocations.length +
        batch.relabels.length +
        batch.events.length +
        batch.denials.length +
        batch.macStatus.length;
      if (rows === 0 && batch.allocationSeq === position.allocationSeq) return 0;
      const client = await (this.#pool as FleetPool).connect();
      try {
        const written = await writeShippedBatch(client, host, batch, position.newestTime);
        this.#shipped.rows += written.stored;
        this.#shipped.refused += written.refused;
        if (written.refused > 0)
          this.#options.onWarning?.(
            `the fleet kept ${written.refused} row(s) of ${host} out (an allocation overlapping another holder of its label, or a record stamped outside 2000 … next month); see its ship_refusal table`,
          );
      } finally {
        client.release();
      }
      this.#shipped.batches++;
      this.#lastShippedAt = Date.now();
      // The positions only: the batch's rows are not kept.
      this.#position = {
        allocationSeq: batch.allocationSeq,
        relabelId: batch.relabelId,
        eventId: batch.eventId,
        denialId: batch.denialId,
        macStatusId: batch.macStatusId,
        newestTime: Math.max(position.newestTime, batch.newestTime),
      };
      this.#acknowledged = this.#position;
      if (this.#failures > 0) {
        this.#options.onWarning?.(
          `shipping to ${redactedUrl(this.#options.url)} works again after ${this.#failures} failed attempt(s); nothing was lost`,
        );
        this.#failures = 0;
        this.#lastError = null;
      }
      return Math.max(rows, 1);
    } catch (error) {
      await this.#disconnect();
      throw fleetError(error, this.#options.url);
    }
  }

  /** Ship until caught up; resolves with the rows sent. */
  async drain(): Promise<number> {
    let total = 0;
    for (let n = await this.shipOnce(); n > 0; n = await this.shipOnce()) total += n;
    return total;
  }

  /** Keep shipping until stop(), retrying with back-off while the fleet is unreachable. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await this.#disconnect();
  }

  /** Look for new rows now (the collector stored some). */
  nudge(): void {
    this.#wake?.();
  }

  status(): ShipStatus {
    let lagRows = 0;
    let lagSeconds = 0;
    const hostId = this.#host === undefined ? undefined : findHostId(this.#store, this.#host);
    const acknowledged = this.#acknowledged;
    if (hostId !== undefined && acknowledged) {
      const lag = localLag(this.#store, hostId, acknowledged);
      lagRows = lag.rows;
      // Nothing shipped yet: the whole local history is behind.
      const shippedUpTo = acknowledged.newestTime > 0 ? acknowledged.newestTime : lag.oldestTime;
      if (lagRows > 0) lagSeconds = Math.max(0, (lag.newestTime - shippedUpTo) / 1000);
    }
    return {
      url: redactedUrl(this.#options.url),
      host: this.#host ?? null,
      lagRows,
      lagSeconds,
      shipped: { ...this.#shipped },
      lastShippedAt: this.#lastShippedAt,
      failures: this.#failures,
      lastError: this.#lastError,
    };
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let wait = this.#options.pollMs;
      try {
        if ((await this.shipOnce()) > 0) continue;
      } catch (error) {
        this.#failures++;
        const message = (error as Error).message;
        if (this.#failures === 1 || message !== this.#lastError)
          this.#options.onWarning?.(
            `cannot ship (attempt ${this.#failures}; the host keeps collecting, nothing is lost): ${message}`,
          );
        this.#lastError = message;
        wait = doublingDelay(this.#failures, FIRST_RETRY_MS, MAX_RETRY_MS);
      }
      if (!this.#running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async #disconnect(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#position = undefined;
    await pool?.end().catch(() => undefined);
  }
}
