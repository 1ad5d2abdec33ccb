/** Denials: filtered lists with keyset pagination, and one denial explained. */

import type { FastifyInstance } from 'fastify';
import { allocationJson } from '../../core/allocation-json.js';
import { DENIAL_KINDS } from '../../core/denial-kind.js';
import { denialJson } from '../../core/denial-json.js';
import { SvirtAuditError } from '../../core/errors.js';
import { type DenialExplanation, explainStoredDenial } from '../../store/denial-explanation.js';
import { vmAnswerUuid } from '../answer-pool.js';
import type { DenialQuery, HistogramQuery } from '../answers.js';
import type { ApiContext } from '../context.js';
import { ERROR_RESPONSES, JSON_TYPE, TIME_PARAM } from '../schemas.js';

const NAME = { type: 'string', minLength: 1, maxLength: 200 };

export const DENIAL_FILTERS = {
  type: 'object',
  properties: {
    vm: NAME,
    host: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._-]+$' },
    since: TIME_PARAM,
    until: TIME_PARAM,
    kind: { type: 'string', enum: [...DENIAL_KINDS] },
    tclass: { type: 'string', pattern: '^[a-z0-9_]{1,64}$' },
    perm: { type: 'string', pattern: '^[a-z0-9_]{1,64}$' },
    permissive: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
  additionalProperties: false,
};

export const DENIAL_PAGE = {
  type: 'object',
  properties: {
    items: { type: 'array', items: { $ref: 'denial#' } },
    next: { type: ['string', 'null'] },
  },
  required: ['items', 'next'],
};

/** GET /v1/denials/histogram, on a host and on the fleet's central server. */
export const HISTOGRAM_FILTERS = {
  type: 'object',
  properties: {
    vm: NAME,
    host: DENIAL_FILTERS.properties.host,
    since: TIME_PARAM,
    until: TIME_PARAM,
    buckets: { type: 'integer', minimum: 1, maximum: 500, default: 48 },
  },
  additionalProperties: false,
};

export const HISTOGRAM = {
  type: 'object',
  properties: {
    from: { type: 'string' },
    to: { type: 'string' },
    bucketMs: { type: 'integer' },
    counts: { type: 'object', additionalProperties: { type: 'array', items: { type: 'integer' } } },
    total: { type: 'integer' },
  },
  required: ['from', 'to', 'bucketMs', 'counts', 'total'],
};

export async function denialRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get<{ Querystring: DenialQuery }>(
    '/v1/denials',
    { schema: { querystring: DENIAL_FILTERS, response: { 200: DENIAL_PAGE, ...ERROR_RESPONSES } } },
    async (request, reply) => {
      const q = request.query;
      if (q.vm === undefined) return reply.type(JSON_TYPE).send(await ctx.answers.ask('denialPage', q));
      const uuid = vmAnswerUuid(ctx.store, q.vm);
      return reply.type(JSON_TYPE).send(await ctx.answers.ask('denialPage', { ...q, vm: uuid }, uuid));
    },
  );

  app.get<{ Querystring: HistogramQuery }>(
    '/v1/denials/histogram',
    { schema: { querystring: HISTOGRAM_FILTERS, response: { 200: HISTOGRAM, ...ERROR_RESPONSES } } },
    async (request, reply) => reply.type(JSON_TYPE).send(await ctx.answers.ask('denialHistogram', request.query)),
  );

  app.get<{ Params: { id: number } }>('/v1/denials/:id', { schema: EXPLAIN_SCHEMA }, async (request) =>
    explanationJson(request.params.id, explainStoredDenial(ctx.store, request.params.id)),
  );
}

/** GET /v1/denials/:id, on a host and on the fleet's central server. */
export const EXPLAIN_SCHEMA = {
  params: {
    type: 'object',
    properties: { id: { type: 'integer', minimum: 1 } },
    required: ['id'],
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: {
        denial: { $ref: 'denial#' },
        raw: { type: 'array', items: { type: 'string' } },
        attribution: {
          type: 'object',
          properties: {
            source: { anyOf: [{ $ref: 'allocation#' }, { type: 'null' }] },
            target: { anyOf: [{ $ref: 'allocation#' }, { type: 'null' }] },
            targetFormerHolder: { anyOf: [{ $ref: 'allocation#' }, { type: 'null' }] },
          },
        },
        explanation: {
          type: 'object',
          properties: {
            cause: { type: 'string' },
            fix: { type: 'array', items: { type: 'string' } },
            note: { type: ['string', 'null'] },
          },
        },
      },
    },
    ...ERROR_RESPONSES,
  },
};

/** What GET /v1/denials/:id answers for one explanation (UNKNOWN_DENIAL when there is none). */
export function explanationJson(id: number, e: DenialExplanation | undefined) {
  if (!e) throw new SvirtAuditError('UNKNOWN_DENIAL', `no denial with id ${id}`, 'list denials: GET /v1/denials');
  const alloc = (a: Parameters<typeof allocationJson>[0] | null) => (a ? allocationJson(a) : null);
  return {
    denial: denialJson(e.denial),
    raw: e.raw,
    attribution: {
      source: alloc(e.denial.source.allocation),
      target: alloc(e.denial.target.allocation),
      targetFormerHolder: alloc(e.denial.target.formerHolder),
    },
    explanation: e.explanation,
  };
}
