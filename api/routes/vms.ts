/** VMs: list, one, its denials, its summary. */

import type { FastifyInstance } from 'fastify';
import { vmJson } from '../../core/allocation-json.js';
import { listVms, resolveVm, type VmSummary } from '../../store/allocations.js';
import type { ApiContext } from '../context.js';
import { vmAnswerUuid } from '../answer-pool.js';
import type { DenialQuery } from '../answers.js';
import { ERROR_RESPONSES, JSON_TYPE } from '../schemas.js';
import { DENIAL_FILTERS, DENIAL_PAGE } from './denials.js';

export const REF = {
  type: 'object',
  properties: { ref: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['ref'],
  additionalProperties: false,
};

export async function vmRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get('/v1/vms', { schema: { response: { 200: { type: 'array', items: { $ref: 'vm#' } } } } }, async () =>
    listVms(ctx.store).map(vmJson),
  );

  app.get<{ Params: { ref: string } }>(
    '/v1/vms/:ref',
    { schema: { params: REF, response: { 200: { $ref: 'vm#' }, ...ERROR_RESPONSES } } },
    async (request) => {
      const { uuid } = resolveVm(ctx.store, request.params.ref);
      return vmJson(listVms(ctx.store).find((v) => v.uuid === uuid) as VmSummary);
    },
  );

  app.get<{ Params: { ref: string }; Querystring: DenialQuery }>(
    '/v1/vms/:ref/denials',
    { schema: { params: REF, querystring: DENIAL_FILTERS, response: { 200: DENIAL_PAGE, ...ERROR_RESPONSES } } },
    async (request, reply) => {
      // Resolved here, once: the thread gets the uuid (one cache entry for name and uuid).
      const uuid = vmAnswerUuid(ctx.store, request.params.ref);
      return reply.type(JSON_TYPE).send(await ctx.answers.ask('denialPage', { ...request.query, vm: uuid }, uuid));
    },
  );

  app.get<{ Params: { ref: string }; Querystring: { since?: string; until?: string } }>(
    '/v1/vms/:ref/summary',
    {
      schema: {
        params: REF,
        querystring: {
          type: 'object',
          properties: { since: { type: 'string', maxLength: 40 }, until: { type: 'string', maxLength: 40 } },
          additionalProperties: false,
        },
        response: { 200: { $ref: 'summary#' }, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const uuid = vmAnswerUuid(ctx.store, request.params.ref);
      return reply.type(JSON_TYPE).send(await ctx.answers.ask('vmSummary', { ...request.query, ref: uuid }, uuid));
    },
  );
}
