/**
 * The central server of a fleet (`serve --store postgres://…`): the read routes of the
 * host API, answered over every host from the fleet's PostgreSQL through the same read
 * interface the CLI uses (store/read-backend.ts), with the same schemas, errors and
 * tokens. Hosts write by shipping (`ship`, `serve --ship-to`), never through this server;
 * it has no collector, no write routes and no retention of its own (`fleet prune`).
 */

import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { allocationJson, vmJson } from '../core/allocation-json.js';
import { isSvirtAuditError } from '../core/errors.js';
import { assertTimeWindow, formatTime, parseTimeSpec } from '../core/time-spec.js';
import type { FleetPool } from '../store/postgres/connect.js';
import { listFleetHosts } from '../store/postgres/fleet-hosts.js';
import type { ReadBackend } from '../store/read-backend.js';
import { validationMessage } from './app.js';
import { authPlugin } from './auth.js';
import { type DenialQuery, pageFilter, pageOf, summaryJson } from './answers.js';
import { DOMAIN_STATUS, errorBody } from './errors.js';
import { DENIAL_FILTERS, DENIAL_PAGE } from './routes/denials.js';
import { REF } from './routes/vms.js';
import { ERROR_RESPONSES, SCHEMAS } from './schemas.js';
import type { TokenSet } from './tokens.js';

export interface FleetAppOptions {
  backend: ReadBackend;
  pool: FleetPool;
  tokens: () => TokenSet;
  logger?: FastifyServerOptions['logger'];
  version?: string;
}

const HOST = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._-]+$' };

export async function buildFleetApp(options: FleetAppOptions): Promise<FastifyInstance> {
  const { backend } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });
  for (const schema of SCHEMAS) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'svirt-audit fleet',
        version: options.version ?? '0',
        description: 'Which confined VM was denied what, when, and why, on every host of the fleet.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isSvirtAuditError(error))
      return reply.code(DOMAIN_STATUS[error.code]).send(errorBody(error.code, error.message, error.hint));
    if (error.validation)
      return reply
        .code(400)
        .send(errorBody('VALIDATION', validationMessage(error.validationContext ?? 'request', error.validation)));
    request.log.error({ err: error }, 'unexpected error');
    // PostgreSQL unreachable or failing: the client may retry; the log says why.
    return reply
      .code(503)
      .send(errorBody('DB_OPEN', 'the fleet database did not answer', 'retry; the server log has the details'));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          'NOT_FOUND',
          `no route ${request.method} ${request.url.split('?')[0]}`,
          'GET /v1/openapi.json lists the routes',
        ),
      ),
  );

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
    scope.get<{ Querystring: { vm?: string; host?: string; open?: boolean; limit?: number } }>(
      '/v1/allocations',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: {
              vm: { type: 'string', maxLength: 200 },
              host: HOST,
              open: { type: 'boolean' },
              limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
            },
            additionalProperties: false,
          },
          response: { 200: { type: 'array', items: { $ref: 'allocation#' } }, ...ERROR_RESPONSES },
        },
      },
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
