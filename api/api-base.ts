/**
 * What every svirt-audit HTTP server starts from (the host API and the fleet's central
 * server): fastify with strict schemas (unknown fields rejected), the shared JSON schemas
 * and the OpenAPI document, one log line per request without headers (never a token), and
 * every error as a JSON body with a code and what to do (api/errors.ts), never a stack.
 */

import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { isSvirtAuditError, type SvirtAuditError } from '../core/errors.js';
import { DOMAIN_STATUS, errorBody } from './errors.js';
import { SCHEMAS } from './schemas.js';

export const BODY_LIMIT = 64 * 1024;

export interface ApiBaseOptions {
  logger: FastifyServerOptions['logger'];
  title: string;
  description: string;
  version: string;
  /** The domain error an engine's own error stands for (SQLite busy, PostgreSQL unreachable). */
  domainErrorOf: (error: unknown) => SvirtAuditError | undefined;
}

export async function createApiBase(options: ApiBaseOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger,
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
      info: { title: options.title, version: options.version, description: options.description },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const domain = options.domainErrorOf(error) ?? error;
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
