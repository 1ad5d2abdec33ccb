/** Denials: filtered lists with keyset pagination, and one denial explained. */

import type { FastifyInstance } from 'fastify';
import { denialJson } from '../../core/denial-json.js';
import { DENIAL_KINDS, type DenialKind } from '../../core/denial-kind.js';
import { SvirtAuditError } from '../../core/errors.js';
import { parseTimeSpec } from '../../core/time-spec.js';
import { resolveVm } from '../../store/allocations.js';
import { explainStoredDenial, queryDenials } from '../../store/denial-query.js';
import type { ApiContext } from '../context.js';
import { ERROR_RESPONSES, TIME_PARAM } from '../schemas.js';

export interface DenialQuery {
  vm?: string;
  host?: string;
  since?: string;
  until?: string;
  kind?: DenialKind;
  tclass?: string;
  perm?: string;
  permissive?: boolean;
  limit?: number;
  cursor?: string;
}

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

function decodeCursor(cursor: string): { time: number; id: number } {
  const [time, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':').map(Number);
  if (!Number.isSafeInteger(time) || !Number.isSafeInteger(id)) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      'the cursor is not one this server gave out',
      'pass the "next" value of the previous page',
    );
  }
  return { time: time as number, id: id as number };
}

/** One page of denials, newest first; `next` continues after the last item (no OFFSET). */
export function denialPage(
  ctx: ApiContext,
  q: DenialQuery,
): { items: ReturnType<typeof denialJson>[]; next: string | null } {
  const limit = q.limit ?? 100;
  const vm = q.vm === undefined ? undefined : resolveVm(ctx.store, q.vm);
  const rows = queryDenials(ctx.store, {
    ...(vm && { vmUuid: vm.uuid }),
    ...(q.host !== undefined && { host: q.host }),
    ...(q.since !== undefined && { since: parseTimeSpec(q.since) }),
    ...(q.until !== undefined && { until: parseTimeSpec(q.until) }),
    ...(q.kind !== undefined && { kind: q.kind }),
    ...(q.tclass !== undefined && { tclass: q.tclass }),
    ...(q.perm !== undefined && { perm: q.perm }),
    ...(q.permissive !== undefined && { permissive: q.permissive }),
    ...(q.cursor !== undefined && { before: decodeCursor(q.cursor) }),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next = rows.length > limit && last ? Buffer.from(`${last.time}:${last.id}`).toString('base64url') : null;
  return { items: page.map(denialJson), next };
}

export async function denialRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get<{ Querystring: DenialQuery }>(
    '/v1/denials',
    { schema: { querystring: DENIAL_FILTERS, response: { 200: DENIAL_PAGE, ...ERROR_RESPONSES } } },
    async (request) => denialPage(ctx, request.query),
  );

  app.get<{ Params: { id: number } }>(
    '/v1/denials/:id',
    {
      schema: {
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
      },
    },
    async (request) => {
      const e = explainStoredDenial(ctx.store, request.params.id);
      if (!e)
        throw new SvirtAuditError(
          'UNKNOWN_DENIAL',
          `no denial with id ${request.params.id}`,
          'list denials: GET /v1/denials',
        );
      const { allocationJson } = await import('../../core/allocation-json.js');
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
    },
  );
}
