/** Allocations: list (read), and the launch-side writes: allocate, release, record a relabel. */

import type { FastifyInstance } from 'fastify';
import { allocationJson } from '../../core/allocation-json.js';
import { type ExpectedDisk, normalizeUuid, type SecurityModel } from '../../core/allocation.js';
import { CategorySet } from '../../core/category-set.js';
import { parseTimeSpec } from '../../core/time-spec.js';
import { allocateLabel, releaseAllocation } from '../../allocation/allocate.js';
import { loadLabelBases } from '../../allocation/label-bases.js';
import { recordRelabel } from '../../allocation/relabel-record.js';
import { listAllocations, recordExpectedDisks, resolveVm } from '../../store/allocations.js';
import type { ApiContext } from '../context.js';
import { ERROR_RESPONSES, TIME_PARAM } from '../schemas.js';

const UUID = {
  type: 'string',
  pattern: '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$',
};
export const HOST = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._-]+$' };

export interface AllocationQuery {
  vm?: string;
  host?: string;
  open?: boolean;
  limit?: number;
}

/** GET /v1/allocations, on a host and on the fleet's central server. */
export const ALLOCATION_LIST_SCHEMA = {
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
};
const CONTEXT = { type: 'string', minLength: 1, maxLength: 4096 };

// The schema admits only uuids, so normalizeUuid always answers.
const normalize = (u: string) => normalizeUuid(u) as string;

/** GET /v1/allocations (readers). */
export async function allocationReadRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get<{ Querystring: AllocationQuery }>('/v1/allocations', { schema: ALLOCATION_LIST_SCHEMA }, async (request) => {
    const q = request.query;
    const uuid = q.vm === undefined ? undefined : resolveVm(ctx.store, q.vm).uuid;
    return listAllocations(ctx.store, {
      ...(uuid !== undefined && { uuid }),
      ...(q.host !== undefined && { host: q.host }),
      openOnly: q.open ?? false,
      limit: q.limit ?? 1000,
    }).map(allocationJson);
  });
}

interface AllocBody {
  uuid: string;
  name: string;
  model?: SecurityModel;
  range?: string;
  single?: boolean;
  tcg?: boolean;
  host?: string;
  pid?: number;
  label?: string;
  imageLabel?: string;
  /** Deprecated spelling of imageLabel, accepted until 0.3. */
  imagelabel?: string;
  started?: string;
  new?: boolean;
  /**
   * Sent by the libvirt hook: the security driver has already given the VM this label,
   * so a changed label of the VM's open allocation, or another VM still holding the label
   * (a stop we missed), ends that allocation instead of refusing (as the direct hook).
   */
  assigned?: boolean;
  disks?: ExpectedDisk[];
}

/** The disks the security driver will relabel, as the hook reads them from the domain XML. */
const EXPECTED_DISKS = {
  type: 'array',
  maxItems: 4096,
  items: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1, maxLength: 4096 },
      mode: { type: 'string', enum: ['rw', 'ro', 'shared'] },
      expectedLabel: { type: ['string', 'null'], maxLength: 4096, default: null },
      relabel: { type: 'boolean', default: true },
    },
    required: ['path', 'mode'],
    additionalProperties: false,
  },
};

/** The write routes (recorders): POST /v1/allocations, …/:uuid/release, /v1/relabels. */
export async function allocationWriteRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.post<{ Body: AllocBody }>(
    '/v1/allocations',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            uuid: UUID,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            model: { type: 'string', enum: ['selinux', 'apparmor', 'none'], default: 'selinux' },
            range: { type: 'string', maxLength: 200, pattern: '^(s\\d+:)?c[0-9.,c]*$' },
            single: { type: 'boolean' },
            tcg: { type: 'boolean' },
            host: HOST,
            pid: { type: 'integer', minimum: 1, maximum: 4194304 },
            label: CONTEXT,
            imageLabel: CONTEXT,
            // The name allocations were printed with before 0.2 (read back and posted again).
            imagelabel: { ...CONTEXT, deprecated: true },
            started: TIME_PARAM,
            new: { type: 'boolean' },
            assigned: { type: 'boolean' },
            disks: EXPECTED_DISKS,
          },
          required: ['uuid', 'name'],
          additionalProperties: false,
        },
        response: { 200: { $ref: 'allocation#' }, 201: { $ref: 'allocation#' }, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { allocation, created } = ctx.store.immediate(() => {
        const outcome = allocateLabel(ctx.store, {
          uuid: normalize(b.uuid),
          name: b.name,
          host: b.host ?? ctx.localHost,
          model: b.model ?? 'selinux',
          source: 'api',
          ...(b.range !== undefined && { range: CategorySet.parse(b.range.replace(/^s\d+:/, '')) }),
          style: b.single ? 'single' : 'pair',
          tcg: b.tcg ?? false,
          ...(b.label !== undefined && { label: b.label }),
          ...((b.imageLabel ?? b.imagelabel) !== undefined && { imageLabel: (b.imageLabel ?? b.imagelabel) as string }),
          pid: b.pid ?? null,
          ...(b.started !== undefined && { startedAt: parseTimeSpec(b.started) }),
          forceNew: b.new ?? false,
          replaceChanged: b.assigned ?? false,
          supersedeHolder: b.assigned ?? false,
          bases: loadLabelBases(),
        });
        // As the hook does: the whole disk set of a new allocation, new disks of an open one.
        if (b.disks) recordExpectedDisks(ctx.store, outcome.allocation.id, outcome.created, b.disks);
        return outcome;
      });
      return reply.code(created ? 201 : 200).send({ ...allocationJson(allocation), created });
    },
  );

  app.post<{ Params: { uuid: string }; Body: { host?: string; ended?: string } }>(
    '/v1/allocations/:uuid/release',
    {
      schema: {
        params: { type: 'object', properties: { uuid: UUID }, required: ['uuid'], additionalProperties: false },
        body: { type: ['object', 'null'], properties: { host: HOST, ended: TIME_PARAM }, additionalProperties: false },
        response: { 200: { $ref: 'allocation#' }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const b = request.body ?? {};
      const a = releaseAllocation(
        ctx.store,
        b.host ?? ctx.localHost,
        normalize(request.params.uuid),
        b.ended !== undefined ? parseTimeSpec(b.ended) : Date.now(),
      );
      return allocationJson(a);
    },
  );

  app.post<{
    Body: { uuid: string; path: string; from: string; to: string; restore?: boolean; error?: string; host?: string };
  }>(
    '/v1/relabels',
    {
      schema: {
        body: {
          type: 'object',
          properties: {
            uuid: UUID,
            path: { type: 'string', minLength: 1, maxLength: 4096 },
            from: CONTEXT,
            to: CONTEXT,
            restore: { type: 'boolean' },
            error: { type: 'string', maxLength: 4096 },
            host: HOST,
          },
          required: ['uuid', 'path', 'from', 'to'],
          additionalProperties: false,
        },
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'integer' },
              path: { type: 'string' },
              action: { type: 'string' },
              error: { type: ['string', 'null'] },
            },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const r = recordRelabel(ctx.store, {
        host: b.host ?? ctx.localHost,
        uuid: normalize(b.uuid),
        path: b.path,
        from: b.from,
        to: b.to,
        action: b.restore ? 'restore' : 'relabel',
        error: b.error ?? null,
      });
      return reply.code(201).send({ id: r.id, path: r.path, action: r.action, error: r.error });
    },
  );
}
