/**
 * The HTTP API, built apart from listening: `serve` calls listen, tests call inject().
 * Every input is validated by JSON schema (unknown fields rejected), every error is a JSON
 * body with a code and what to do (api/errors.ts), never a stack trace. Reads and writes
 * are separate scopes, each wrapped by its auth plugin; writes are rate-limited.
 */

import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { isSvirtAuditError } from '../core/errors.js';
import { storeErrorOf } from '../store/store.js';
import { denialsAfter, latestDenialId } from '../store/denial-query.js';
import { authPlugin, clientKey } from './auth.js';
import type { ApiContext } from './context.js';
import { DOMAIN_STATUS, errorBody } from './errors.js';
import { allocationReadRoutes, allocationWriteRoutes } from './routes/allocations.js';
import { denialRoutes } from './routes/denials.js';
import { healthRoutes } from './routes/health.js';
import { reportRoutes } from './routes/reports.js';
import { streamRoutes } from './routes/stream.js';
import { vmRoutes } from './routes/vms.js';
import { SCHEMAS } from './schemas.js';
import { DEFAULT_SLOW_CLIENT_LIMITS, SlowClientGuard, type SlowClientLimits } from './slow-clients.js';

export interface BuildAppOptions {
  ctx: ApiContext;
  logger?: FastifyServerOptions['logger'];
  /** Write requests per minute per client (default 120). */
  writeRateLimit?: number;
  /** Bounds on streams and reports, for slow or greedy readers (api/slow-clients.ts). */
  slowClients?: Partial<SlowClientLimits>;
  version?: string;
}

export const BODY_LIMIT = 64 * 1024;

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { ctx } = options;
  const guard = new SlowClientGuard(
    { ...DEFAULT_SLOW_CLIENT_LIMITS, ...options.slowClients },
    () => ctx.metrics.slowClientsDropped++,
  );
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request (below), instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Reject unknown fields rather than silently dropping them (fastify's default removes them).
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
  });

  app.addHook('onResponse', async (request, reply) => {
    // Method, path, status and time only: no headers, so never a token.
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        remote: request.ip ?? 'unix',
      },
      'request',
    );
  });
  for (const schema of SCHEMAS) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'svirt-audit',
        version: options.version ?? '0',
        description: 'Which confined VM was denied what, when, and why.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const domain = storeErrorOf(error) ?? error;
    if (isSvirtAuditError(domain))
      return reply.code(DOMAIN_STATUS[domain.code]).send(errorBody(domain.code, domain.message, domain.hint));
    if (error.validation) {
      return reply
        .code(400)
        .send(
          errorBody(
            'VALIDATION',
            validationMessage(error.validationContext ?? 'request', error.validation),
            'GET /v1/openapi.json lists what each route accepts',
          ),
        );
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send(errorBody('BODY_TOO_LARGE', `request bodies are limited to ${BODY_LIMIT} bytes`));
    if (error.statusCode === 429)
      return reply.code(429).send(errorBody('RATE_LIMITED', error.message, 'slow down; writes are limited per client'));
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody('VALIDATION', error.message));
    }
    request.log.error({ err: error }, 'unexpected error');
    return reply
      .code(500)
      .send(errorBody('INTERNAL', 'an unexpected error happened', 'the server log has the details'));
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

  // Readers: every GET route.
  await app.register(async (scope) => {
    await authPlugin(scope, { tokens: ctx.tokens, need: 'reader' });
    await scope.register(vmRoutes, { ctx });
    await scope.register(denialRoutes, { ctx });
    await scope.register(allocationReadRoutes, { ctx });
    await scope.register(streamRoutes, { ctx, guard });
    await scope.register(healthRoutes, { ctx });
    await scope.register(reportRoutes, {
      ctx,
      version: options.version ?? '0',
      dbPath: ctx.store.path,
      guard,
    });
    scope.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });

  // Recorders: the launch-side writes, rate-limited.
  await app.register(async (scope) => {
    await authPlugin(scope, { tokens: ctx.tokens, need: 'recorder' });
    await scope.register(rateLimit, {
      max: options.writeRateLimit ?? 120,
      timeWindow: '1 minute',
      // Per client: its token, however the header spells the scheme (see clientKey).
      keyGenerator: clientKey,
      errorResponseBuilder: (_req, context) => ({
        statusCode: 429,
        message: `more than ${context.max} writes a minute`,
      }),
    });
    await scope.register(allocationWriteRoutes, { ctx });
  });

  // Count denials for /metrics as they are stored.
  let counted = latestDenialId(ctx.store);
  const unsubscribe = ctx.notifier.onStored(() => {
    for (const d of denialsAfter(ctx.store, counted, 10_000)) {
      ctx.metrics.countDenial(d);
      counted = d.id;
    }
  });
  app.addHook('onClose', async () => unsubscribe());
  return app;
}

/**
 * The first schema violation, naming the field (`body/disks/0/mode`) and, where the schema
 * lists them, the values allowed or the property not allowed.
 */
export function validationMessage(context: string, issues: NonNullable<FastifyError['validation']>): string {
  const first = issues[0];
  if (!first) return `${context} is not valid`;
  const params = first.params as { allowedValues?: unknown[]; additionalProperty?: string };
  const detail = params.allowedValues
    ? ` (${params.allowedValues.join(', ')})`
    : params.additionalProperty
      ? ` (${params.additionalProperty})`
      : '';
  return `${context}${first.instancePath} ${first.message ?? 'is not valid'}${detail}`;
}
