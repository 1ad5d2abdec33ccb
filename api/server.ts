/**
 * `serve`: the collector and the API in one process. Wires things together and holds no
 * logic of its own: open the store, follow the log (if asked), build the app, listen on
 * TCP (loopback unless allowed otherwise) and optionally a unix socket, reload tokens on
 * SIGHUP, and on stop commit the collector's batch and checkpoint before closing.
 */

import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { Alerting } from '../alerts/alerting.js';
import { AuditFileFollower, assertFollowable } from '../collector/follow.js';
import type { AlertRules } from '../core/alert-rules.js';
import type { SyslogDestination } from '../syslog/syslog-destination.js';
import { SyslogForwarder } from '../syslog/syslog-forwarder.js';
import { SvirtAuditError } from '../core/errors.js';
import type { RetentionPolicy } from '../retention/policy.js';
import { RetentionRunner } from '../retention/runner.js';
import type { Shipper } from '../fleet/shipper.js';
import { listVms } from '../store/allocations.js';
import { latestDenialId } from '../store/denial-query.js';
import { openStore, type Store } from '../store/store.js';
import { AnswerPool, type Answerer, defaultAnswerThreads, InProcessAnswers } from './answer-pool.js';
import { buildApp } from './app.js';
import { DenialNotifier } from './denial-notifier.js';
import { Metrics } from './metrics.js';
import { TokenSet } from './tokens.js';

export interface ServeOptions {
  dbPath: string;
  /** host:port for TCP (default 127.0.0.1:8785); port 0 picks a free one. */
  listen: string;
  socket?: string;
  /** The audit log to follow, or null not to follow one. */
  follow: string | null;
  tokensPath: string;
  allowRemote: boolean;
  localHost: string;
  version: string;
  logLevel?: string;
  /** How often to save the summary cache for the next start (default 10 min; also at stop). */
  saveIntervalMs?: number;
  /** How often to reap allocations whose process is gone (default 30 s). */
  reapIntervalMs?: number;
  /** Worker threads for the read answers (default one per core, at most 4; 0: this thread). */
  readThreads?: number;
  /** What to keep and how large the store may grow (null: keep everything, as before). */
  retention?: RetentionPolicy | null;
  /** How often the retention checks usage (default 30 s). */
  retentionCheckMs?: number;
  /** Where pino writes (default stdout). */
  logStream?: NodeJS.WritableStream;
  /** Ship this host's records to the fleet's PostgreSQL (postgres://…), as `ship --follow` does. */
  shipTo?: string;
  /** Alert rules and receivers (alerts/); null: raise no alerts. */
  alerts?: AlertRules | null;
  /** How often alerts look for due sends and retries without new denials (default 1 s). */
  alertTickMs?: number;
  /** Forward every denial to syslog (RFC 5424). */
  syslog?: SyslogDestination;
}

export interface RunningServer {
  app: FastifyInstance;
  /** The TCP address actually bound, as host:port. */
  address: string;
  reloadTokens(): void;
  /** New alert rules and receivers (SIGHUP); false when serve raises no alerts. */
  reloadAlerts?(rules: AlertRules): boolean;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Make room for the unix socket: a socket left by a server that is gone is removed; a live
 * one (another serve) or anything that is not a socket (a typo naming the database) is
 * refused, never deleted.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket())
    throw new SvirtAuditError(
      'BAD_INPUT',
      `--socket ${path} exists and is not a socket; refusing to replace it`,
      'name a path where the socket can be created, e.g. /run/svirt-audit/api.sock',
    );
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live)
    throw new SvirtAuditError(
      'BAD_INPUT',
      `--socket ${path} is in use by a running server`,
      'stop that server first, or pick another path',
    );
  unlinkSync(path);
}

export function splitListen(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new SvirtAuditError('BAD_INPUT', `--listen ${listen} is not host:port`, 'e.g. --listen 127.0.0.1:8785');
  return { host: m[1] as string, port: Number(m[2]) };
}

/**
 * The token file read again (SIGHUP). Fails closed: a token file that disappeared (deleted,
 * or a typo while editing) must not open the API. Turning authentication off takes a restart.
 */
export function reloadedTokens(current: TokenSet, tokensPath: string, log: FastifyBaseLogger): TokenSet {
  try {
    const next = TokenSet.load(tokensPath);
    if (current.configured && !next.configured)
      throw new SvirtAuditError(
        'BAD_INPUT',
        `the token file ${tokensPath} is gone`,
        'restore it; to run without tokens on purpose, restart serve',
      );
    log.info('tokens reloaded');
    return next;
  } catch (error) {
    log.error({ err: error }, 'tokens not reloaded; keeping the previous ones');
    return current;
  }
}

/** The TCP address a listening app is bound to, as host:port ([v6]:port). */
export function boundAddress(app: FastifyInstance, fallback: string): string {
  const bound = app.server.address();
  return typeof bound === 'object' && bound
    ? `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`
    : fallback;
}

/** Beyond loopback only on purpose (--allow-remote) and never without tokens. */
export function assertListenAllowed(host: string, allowRemote: boolean, tokens: TokenSet, tokensPath: string): void {
  if (LOOPBACK_HOSTS.has(host)) return;
  if (!allowRemote) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `listening on ${host} would expose the API beyond this host`,
      'pass --allow-remote (and create tokens) to do that on purpose',
    );
  }
  if (!tokens.configured) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `listening on ${host} needs a token file (${tokensPath})`,
      'create tokens first: svirt-audit token create --role reader',
    );
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { host, port } = splitListen(options.listen);
  // Refused before anything starts (threads, the listener), so the process can exit.
  if (options.follow !== null) assertFollowable(options.follow);
  if (options.socket) await clearStaleSocket(options.socket);
  let tokens = TokenSet.load(options.tokensPath);
  assertListenAllowed(host, options.allowRemote, tokens, options.tokensPath);

  const store: Store = openStore(options.dbPath, { durability: 'normal' });
  // Alerts and syslog start after what was stored before this start, the first time they run.
  const storedBefore = latestDenialId(store);
  const notifier = new DenialNotifier();
  const metrics = new Metrics();
  const threads = options.readThreads ?? defaultAnswerThreads();
  const answers: Answerer =
    threads > 0
      ? new AnswerPool({
          dbPath: options.dbPath,
          version: options.version,
          threads,
          onError: (error) => app.log.error({ err: error }, 'an answer thread failed'),
        })
      : new InProcessAnswers(store, { version: options.version });
  const app = await buildApp({
    ctx: {
      store,
      answers,
      tokens: () => tokens,
      notifier,
      metrics,
      localHost: options.localHost,
      ...(options.follow !== null && { collector: () => (follower as AuditFileFollower).status() }),
      ...(options.retention && { retention: () => (retention as RetentionRunner).status }),
      ...(options.shipTo !== undefined && { shipping: () => (shipper as Shipper).status() }),
      ...(options.alerts && { alerting: () => (alerting as Alerting).status() }),
      ...(options.syslog && { syslog: () => (syslog as SyslogForwarder).status() }),
    },
    logger: { level: options.logLevel ?? 'info', ...(options.logStream && { stream: options.logStream }) },
    version: options.version,
  });

  // The fleet may be down at start: the shipper retries on its own and the host collects on.
  let shipper: Shipper | undefined;
  if (options.shipTo !== undefined) {
    // Loaded only when shipping: nothing else loads the PostgreSQL client (store/postgres/pg-runtime.ts).
    const { Shipper } = await import('../fleet/shipper.js');
    shipper = new Shipper(store, {
      url: options.shipTo,
      onWarning: (message) => app.log.warn({ ship: shipper?.status().url }, message),
    });
    shipper.start();
  }
  let alerting: Alerting | undefined;
  const syslog =
    options.syslog &&
    new SyslogForwarder(store, {
      destination: options.syslog,
      firstPosition: storedBefore,
      onWarning: (message, details) => app.log.warn(details, message),
    });
  let follower: AuditFileFollower | undefined;
  if (options.follow !== null) {
    follower = new AuditFileFollower(store, {
      path: options.follow,
      localHost: options.localHost,
      onStored: () => {
        notifier.notify();
        shipper?.nudge();
        alerting?.nudge();
        syslog?.nudge();
      },
      onWarning: (message) => app.log.warn({ follow: options.follow }, message),
    });
    try {
      await follower.start();
    } catch (error) {
      // Nothing may keep the process alive after a failed start (the answer threads).
      await shipper?.stop();
      await app.close();
      await answers.close();
      store.close();
      throw error;
    }
  }
  let retention: RetentionRunner | undefined;
  if (options.retention) {
    retention = new RetentionRunner(store, {
      policy: options.retention,
      ...(options.retentionCheckMs !== undefined && { checkIntervalMs: options.retentionCheckMs }),
      log: app.log,
    });
    retention.start();
  }
  // Denials stored by other processes (an ingest beside us) reach the stream within a second.
  const poll = setInterval(() => notifier.notify(), 1000);
  // Save the summaries now and then too, so a start after a crash is mostly warm as well.
  const saveSummaries = async (why: string) => {
    try {
      const saved = await answers.save(store);
      app.log.debug({ summaries: saved }, `summary cache saved (${why})`);
    } catch (error) {
      app.log.warn({ err: error }, 'the summary cache was not saved; the next start computes it again');
    }
  };
  const saver = setInterval(() => void saveSummaries('periodic'), options.saveIntervalMs ?? 600_000);
  // Close allocations of launched VMs whose QEMU is gone, restoring their disks' labels.
  const reaper = setInterval(() => {
    void (async () => {
      try {
        const [{ reapAllocations }, { loadNative }] = await Promise.all([
          import('../launch/reap.js'),
          import('../native/index.js'),
        ]);
        for (const o of reapAllocations(store, loadNative(), options.localHost)) {
          app.log.info({ vm: o.allocation.name, restored: o.restored }, 'reaped an allocation whose process is gone');
        }
      } catch (error) {
        app.log.error({ err: error }, 'reap failed');
      }
    })();
  }, options.reapIntervalMs ?? 30_000);

  await app.listen({ host, port });
  const address = boundAddress(app, options.listen);
  // Links in alerts point at this server's bound address unless the config names another.
  const withLinks = (rules: AlertRules): AlertRules => ({ ...rules, linkBase: rules.linkBase ?? `http://${address}` });
  if (options.alerts) {
    alerting = new Alerting(store, withLinks(options.alerts), {
      version: options.version,
      firstPosition: storedBefore,
      ...(options.alertTickMs !== undefined && { tickMs: options.alertTickMs }),
      onWarning: (message, details) => app.log.warn(details, message),
      onSent: (receiver, key) => app.log.info({ receiver, alert: key }, 'alert sent'),
    });
    alerting.start();
  }
  syslog?.start();

  let unixServer: Server | undefined;
  if (options.socket) {
    unixServer = createServer((req, res) => app.routing(req, res));
    await new Promise<void>((resolve) => unixServer?.listen(options.socket, resolve));
    chmodSync(options.socket, 0o660);
  }

  let closed = false;
  // The most recently seen VMs first: those are the ones asked about.
  const warming = answers
    .warm(listVms(store))
    .then((n) => app.log.debug({ vms: n }, 'summary cache warmed'))
    .catch((error: unknown) => {
      if (!closed) app.log.error({ err: error }, 'warming the summary cache failed');
    });
  return {
    app,
    address,
    reloadTokens() {
      tokens = reloadedTokens(tokens, options.tokensPath, app.log);
    },
    reloadAlerts(rules) {
      if (!alerting) return false;
      alerting.setRules(withLinks(rules));
      app.log.info({ receivers: rules.receivers.map((r) => r.name) }, 'alert rules reloaded');
      return true;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(poll);
      clearInterval(reaper);
      clearInterval(saver);
      await retention?.stop();
      if (unixServer) await new Promise<void>((resolve) => unixServer?.close(() => resolve()));
      await app.close();
      await saveSummaries('stopping');
      await answers.close();
      await warming;
      if (follower) await follower.stop();
      // After the collector's last commit: what it stored reaches the outbox, syslog and the fleet.
      alerting?.nudge();
      await alerting?.stop();
      await syslog?.stop();
      await shipper?.stop();
      store.close();
    },
  };
}
