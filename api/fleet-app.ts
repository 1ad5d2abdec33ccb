/**
 * The central server of a fleet (`serve --store postgres://…`): the read routes of the
 * host API, answered over every host from the fleet's PostgreSQL through the same read
 * interface the CLI uses (store/read-backend.ts), with the same schemas, errors and
 * tokens. Hosts write by shipping (`ship`, `serve --ship-to`), never through this server;
 * it has no collector, no write routes and no retention of its own (`fleet prune`).
 */

import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { allocationJson, vmJson } from '../core/allocation-json.js';
import { SvirtAuditError } from '../core/errors.js';
import { assertTimeWindow, formatTime, parseTimeSpec } from '../core/time-spec.js';
import type { FleetPool } from '../store/postgres/connect.js';
import { listFleetHosts } from '../store/postgres/fleet-hosts.js';
import type { ReadBackend } from '../store/read-backend.js';
import { fleetVmHosts } from '../store/postgres/fleet-reads.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { createApiBase } from './api-base.js';
import { authPlugin } from './auth.js';
import {
  type DenialQuery,
  type HistogramQuery,
  histogramBody,
  histogramWindow,
  pageFilter,
  pageOf,
  summaryJson,
} from './answers.js';
import { ALLOCATION_LIST_SCHEMA, type AllocationQuery, HOST } from './routes/allocations.js';
import {
  DENIAL_FILTERS,
  DENIAL_PAGE,
  EXPLAIN_SCHEMA,
  explanationJson,
  HISTOGRAM,
  HISTOGRAM_FILTERS,
} from './routes/denials.js';
import { type DenialHistogram, HistogramCounter } from '../store/denial-histogram.js';
import { REF } from './routes/vms.js';
import { ERROR_RESPONSES, JSON_TYPE } from './schemas.js';
import { type AnswerDeps, type FleetAnswerCache } from './fleet-answer-cache.js';
import type { TokenSet } from './tokens.js';
import { fleetStreamRoute } from './fleet-stream.js';
import { reportRoutes } from './routes/reports.js';
import { timelineRoutes } from './routes/timeline.js';
import { DEFAULT_SLOW_CLIENT_LIMITS, SlowClientGuard, type SlowClientLimits } from './slow-clients.js';

export interface FleetAppOptions {
  backend: ReadBackend;
  pool: FleetPool;
  answers: FleetAnswers;
  tokens: () => TokenSet;
  logger?: FastifyServerOptions['logger'];
  version?: string;
  /** Bounds on streams, for slow or greedy readers (api/slow-clients.ts). */
  slowClients?: Partial<SlowClientLimits>;
  /** How often /v1/stream looks for newly shipped denials (default 1 s). */
  streamPollMs?: number;
  /** The name reports give their database: the fleet's URL without its password. */
  database?: string;
}

/** A time given as a span back from now (90m, 24h, 7d), not as a date. */
const RELATIVE = /^\d+[a-z]+$/i;

/** A PostgreSQL server error (SQLSTATE) or a connection that failed. */
function isPostgresError(error: unknown): error is Error {
  const code = (error as { code?: unknown }).code;
  return !(error instanceof SvirtAuditError) && typeof code === 'string' && /^([0-9A-Z]{5}|E[A-Z]+)$/.test(code);
}

function fleetUnavailable(error: Error): SvirtAuditError {
  return new SvirtAuditError('DB_BUSY', `the fleet database did not answer: ${error.message}`, 'retry');
}

/**
 * The answers the central server caches (api/fleet-answer-cache.ts): pages of denials and
 * VM summaries, as JSON text, from the cache while the hosts they depend on shipped nothing.
 */
export function fleetAnswers(backend: ReadBackend, pool: FleetPool, cache: FleetAnswerCache) {
  /** What an answer about VM `uuid` (or, without one, about `host` or the whole fleet) depends on. */
  const depsOf = async (uuid: string | undefined, host: string | undefined): Promise<AnswerDeps> =>
    uuid !== undefined ? { hosts: await fleetVmHosts(pool, uuid) } : host !== undefined ? { hosts: [host] } : 'all';
  // A window that moves with the clock (since=24h) is never the same answer twice.
  const fixed = (...times: (string | undefined)[]) => times.every((t) => t === undefined || !RELATIVE.test(t));

  const page = async (q: DenialQuery, vmUuid?: string): Promise<string> => {
    if (q.since !== undefined && q.until !== undefined)
      assertTimeWindow(parseTimeSpec(q.since), parseTimeSpec(q.until));
    const compute = async () => {
      const since = q.since === undefined ? undefined : parseTimeSpec(q.since);
      return JSON.stringify(pageOf(q, await backend.denials(pageFilter(q, vmUuid, since))).page);
    };
    if (!fixed(q.since, q.until)) return compute();
    const key = `denials\u0000${JSON.stringify({ ...q, vm: vmUuid })}`;
    return cache.answer(key, await depsOf(vmUuid, q.host), compute);
  };

  const summary = async (vm: { uuid: string; name: string }, q: { since?: string; until?: string; host?: string }) => {
    const since = q.since === undefined ? undefined : parseTimeSpec(q.since);
    const until = q.until === undefined ? undefined : parseTimeSpec(q.until);
    if (since !== undefined && until !== undefined) assertTimeWindow(since, until);
    const compute = async () =>
      JSON.stringify(
        summaryJson(
          await backend.summarize(vm.uuid, vm.name, {
            ...(since !== undefined && { since }),
            ...(until !== undefined && { until }),
            ...(q.host !== undefined && { host: q.host }),
          }),
        ),
      );
    if (!fixed(q.since, q.until)) return compute();
    const key = `summary\u0000${vm.uuid}\u0000${JSON.stringify(q)}`;
    return cache.answer(key, await depsOf(vm.uuid, undefined), compute);
  };

  /** Compute the summaries of every VM, most recently seen first, until `stopped`; resolves with how many. */
  const warm = async (stopped: () => boolean): Promise<number> => {
    let n = 0;
    for (const vm of await backend.vms()) {
      if (stopped()) break;
      await summary(vm, {});
      n++;
    }
    return n;
  };
  return { page, summary, warm, cache };
}

export type FleetAnswers = ReturnType<typeof fleetAnswers>;

export async function buildFleetApp(options: FleetAppOptions): Promise<FastifyInstance> {
  const { backend } = options;
  const app = await createApiBase({
    logger: options.logger ?? false,
    title: 'svirt-audit fleet',
    description: 'Which confined VM was denied what, when, and why, on every host of the fleet.',
    version: options.version ?? '0',
    // PostgreSQL unreachable or failing: the client may retry; the log says why.
    domainErrorOf: (error) => (isPostgresError(error) ? fleetUnavailable(error) : undefined),
  });

  const { page, summary } = options.answers;
  const guard = new SlowClientGuard({ ...DEFAULT_SLOW_CLIENT_LIMITS, ...options.slowClients });

  // Streams and reports never end by themselves: cut them, or close would wait on them.
  app.addHook('preClose', async () => guard.closeAll());
  await app.register(dashboardRoutes);

  await app.register(async (scope) => {
    await authPlugin(scope, { tokens: options.tokens, need: 'reader' });
    await scope.register(fleetStreamRoute, {
      pool: options.pool,
      guard,
      ...(options.streamPollMs !== undefined && { pollMs: options.streamPollMs }),
    });
    scope.get<{ Querystring: DenialQuery }>(
      '/v1/denials',
      { schema: { querystring: DENIAL_FILTERS, response: { 200: DENIAL_PAGE, ...ERROR_RESPONSES } } },
      async (request, reply) => {
        const q = request.query;
        const uuid = q.vm === undefined ? undefined : (await backend.resolveVm(q.vm)).uuid;
        return reply.type(JSON_TYPE).send(await page(q, uuid));
      },
    );
    scope.get<{ Querystring: HistogramQuery }>(
      '/v1/denials/histogram',
      { schema: { querystring: HISTOGRAM_FILTERS, response: { 200: HISTOGRAM, ...ERROR_RESPONSES } } },
      async (request) => histogramBody(await fleetHistogram(backend, request.query)),
    );
    scope.get<{ Params: { id: number } }>('/v1/denials/:id', { schema: EXPLAIN_SCHEMA }, async (request) =>
      explanationJson(request.params.id, await backend.explain(request.params.id)),
    );
    scope.get('/v1/vms', { schema: { response: { 200: { type: 'array', items: { $ref: 'vm#' } } } } }, async () =>
      (await backend.vms()).map(vmJson),
    );
    scope.get<{ Params: { ref: string } }>(
      '/v1/vms/:ref',
      { schema: { params: REF, response: { 200: { $ref: 'vm#' }, ...ERROR_RESPONSES } } },
      async (request) => {
        const { uuid } = await backend.resolveVm(request.params.ref);
        const vm = (await backend.vms()).find((v) => v.uuid === uuid);
        return vm && vmJson(vm);
      },
    );
    scope.get<{ Params: { ref: string }; Querystring: DenialQuery }>(
      '/v1/vms/:ref/denials',
      { schema: { params: REF, querystring: DENIAL_FILTERS, response: { 200: DENIAL_PAGE, ...ERROR_RESPONSES } } },
      async (request, reply) =>
        reply.type(JSON_TYPE).send(await page(request.query, (await backend.resolveVm(request.params.ref)).uuid)),
    );
    scope.get<{ Params: { ref: string }; Querystring: { since?: string; until?: string; host?: string } }>(
      '/v1/vms/:ref/summary',
      {
        schema: {
          params: REF,
          querystring: {
            type: 'object',
            properties: {
              since: { type: 'string', maxLength: 40 },
              until: { type: 'string', maxLength: 40 },
              host: HOST,
            },
            additionalProperties: false,
          },
          response: { 200: { $ref: 'summary#' }, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) =>
        reply.type(JSON_TYPE).send(await summary(await backend.resolveVm(request.params.ref), request.query)),
    );
    scope.get<{ Querystring: AllocationQuery }>(
      '/v1/allocations',
      { schema: ALLOCATION_LIST_SCHEMA },
      async (request) => {
        const q = request.query;
        const uuid = q.vm === undefined ? undefined : (await backend.resolveVm(q.vm)).uuid;
        return (
          await backend.allocations({
            ...(uuid !== undefined && { uuid }),
            ...(q.host !== undefined && { host: q.host }),
            openOnly: q.open ?? false,
            limit: q.limit ?? 1000,
          })
        ).map(allocationJson);
      },
    );
    // Its rows come through cursors on pooled connections: nothing of its own to open or close.
    await scope.register(timelineRoutes, { reads: backend.report });
    await scope.register(reportRoutes, {
      reads: backend.report,
      openRowReads: () => ({ reads: backend.report, close: () => undefined }),
      database: options.database ?? 'the fleet',
      version: options.version ?? '0',
      guard,
    });
    scope.get('/v1/hosts', async () =>
      (await listFleetHosts(options.pool)).map((h) => ({
        name: h.name,
        shippedUpTo: h.newestTime === null ? null : formatTime(h.newestTime),
        lastShippedAt: h.shippedAt === null ? null : formatTime(h.shippedAt),
        enforcing: h.enforcing,
        enforcingSince: h.enforcingSince === null ? null : formatTime(h.enforcingSince),
      })),
    );
    scope.get('/healthz', async (_request, reply) => {
      try {
        const hosts = await listFleetHosts(options.pool);
        const { hits, misses } = options.answers.cache;
        return { status: 'ok', database: { reachable: true }, hosts: hosts.length, answerCache: { hits, misses } };
      } catch (error) {
        return reply
          .code(503)
          .send({ status: 'degraded', database: { reachable: false, problem: (error as Error).message } });
      }
    });
    scope.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
  return app;
}

/** Rows of the fleet read per query while counting a histogram: memory stays bounded. */
const HISTOGRAM_PAGE = 5000;

/** The histogram over every host, read a keyset page at a time. */
async function fleetHistogram(backend: ReadBackend, q: HistogramQuery): Promise<DenialHistogram> {
  const window = histogramWindow(q);
  const counter = new HistogramCounter(window);
  const vmUuid = q.vm === undefined ? undefined : (await backend.resolveVm(q.vm)).uuid;
  let before: { time: number; id: number } | undefined;
  for (;;) {
    const rows = await backend.denials({
      since: window.from,
      until: window.to,
      ...(vmUuid !== undefined && { vmUuid }),
      ...(q.host !== undefined && { host: q.host }),
      ...(before !== undefined && { before }),
      limit: HISTOGRAM_PAGE,
    });
    for (const d of rows) counter.add(d.time, d.kind);
    const last = rows.at(-1);
    if (rows.length < HISTOGRAM_PAGE || last === undefined) return counter.result();
    before = { time: last.time, id: last.id };
  }
}
