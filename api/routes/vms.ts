/** VMs: list, one, its denials, its summary. */

import type { FastifyInstance } from 'fastify';
import { vmJson } from '../../core/allocation-json.js';
import { formatTime } from '../../core/time-spec.js';
import { listVms, resolveVm, type VmSummary } from '../../store/allocations.js';
import { summarizeVm } from '../../store/denial-query.js';
import type { ApiContext } from '../context.js';
import { ERROR_RESPONSES } from '../schemas.js';
import { DENIAL_FILTERS, DENIAL_PAGE, denialPage, type DenialQuery } from './denials.js';

const REF = {
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
    async (request) => denialPage(ctx, { ...request.query, vm: request.params.ref }),
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
    async (request) => {
      const { parseTimeSpec } = await import('../../core/time-spec.js');
      const vm = resolveVm(ctx.store, request.params.ref);
      const windowed = request.query.since !== undefined || request.query.until !== undefined;
      const s =
        !windowed && ctx.summaries
          ? ctx.summaries.get(ctx.store, vm.uuid, vm.name)
          : summarizeVm(ctx.store, vm.uuid, vm.name, {
              ...(request.query.since !== undefined && { since: parseTimeSpec(request.query.since) }),
              ...(request.query.until !== undefined && { until: parseTimeSpec(request.query.until) }),
            });
      return {
        ...s,
        groups: s.groups.map((g) => ({ ...g, firstSeen: formatTime(g.firstSeen), lastSeen: formatTime(g.lastSeen) })),
      };
    },
  );
}
