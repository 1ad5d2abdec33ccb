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
import { createApiBase } from './api-base.js';
import { authPlugin } from './auth.js';
import { type DenialQuery, pageFilter, pageOf, summaryJson } from './answers.js';
import { ALLOCATION_LIST_SCHEMA, type AllocationQuery, HOST } from './routes/allocations.js';
import { DENIAL_FILTERS, DENIAL_PAGE, EXPLAIN_SCHEMA, explanationJson } from './routes/denials.js';
import { REF } from './routes/vms.js';
import { ERROR_RESPONSES } from './schemas.js';
import type { TokenSet } from './tokens.js';

export interface FleetAppOptions {
  backend: ReadBackend;
  pool: FleetPool;
  tokens: () => TokenSet;
  logger?: FastifyServerOptions['logger'];
  version?: string;
}

/** A PostgreSQL server error (SQLSTATE) or a connection that failed. */
function isPostgresError(error: unknown): error is Error {
  const code = (error as { code?: unknown }).code;
  return !(error instanceof SvirtAuditError) && typeof code === 'string' && /^([0-9A-Z]{5}|E[A-Z]+)$/.test(code);
}

function fleetUnavailable(error: Error): SvirtAuditError {
  return new SvirtAuditError('DB_BUSY', `the fleet database did not answer: ${error.message}`, 'retry');
}

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

  const page = async (q: DenialQuery, vmUuid?: string) => {
    if (q.since !== undefined && q.until !== undefined)
      assertTimeWindow(parseTimeSpec(q.since), parseTimeSpec(q.until));
    const since = q.since === undefined ? undefined : parseTimeSpec(q.since);
    return pageOf(q, await backend.denials(pageFilter(q, vmUuid, since))).page;
  };

  await app.register(async (scope) => {
    await authPlugin(scope, { tokens: options.tokens, need: 'reader' });
    scope.get<{ Querystring: DenialQuery }>(
      '/v1/denials',
      { schema: { querystring: DENIAL_FILTERS, response: { 200: DENIAL_PAGE, ...ERROR_RESPONSES } } },
      async (request) => {
        const q = request.query;
        return page(q, q.vm === undefined ? undefined : (await backend.resolveVm(q.vm)).uuid);
      },
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
      async (request) => page(request.query, (await backend.resolveVm(request.params.ref)).uuid),
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
      async (request) => {
        const q = request.query;
        const since = q.since === undefined ? undefined : parseTimeSpec(q.since);
        const until = q.until === undefined ? undefined : parseTimeSpec(q.until);
        if (since !== undefined && until !== undefined) assertTimeWindow(since, until);
        const vm = await backend.resolveVm(request.params.ref);
        return summaryJson(
          await backend.summarize(vm.uuid, vm.name, {
            ...(since !== undefined && { since }),
            ...(until !== undefined && { until }),
            ...(q.host !== undefined && { host: q.host }),
          }),
        );
      },
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
    scope.get('/v1/hosts', async () =>
      (await listFleetHosts(options.pool)).map((h) => ({
        name: h.name,
        shippedUpTo: h.newestTime === null ? null : formatTime(h.newestTime),
        lastShippedAt: h.shippedAt === null ? null : formatTime(h.shippedAt),
      })),
    );
    scope.get('/healthz', async (_request, reply) => {
      try {
        const hosts = await listFleetHosts(options.pool);
        return { status: 'ok', database: { reachable: true }, hosts: hosts.length };
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
