/**
 * GET /v1/vms/:ref/timeline: the VM's label history for the dashboard's timeline: every
 * allocation on every host, oldest first, each with the relabels recorded for it (failed
 * ones carry their error). Read through the report interface, so a host's serve and the
 * fleet's central server answer it alike.
 */

import type { FastifyInstance } from 'fastify';
import { allocationJson } from '../../core/allocation-json.js';
import { formatTime } from '../../core/time-spec.js';
import type { ReportReads } from '../../store/report-reads.js';
import { ERROR_RESPONSES } from '../schemas.js';
import { REF } from './vms.js';

export async function timelineRoutes(app: FastifyInstance, { reads }: { reads: ReportReads }): Promise<void> {
  app.get<{ Params: { ref: string } }>(
    '/v1/vms/:ref/timeline',
    { schema: { params: REF, response: { ...ERROR_RESPONSES } } },
    async (request) => {
      const vm = await reads.resolveVm(request.params.ref);
      const allocations = [...(await reads.allocations(vm.uuid))].sort((a, b) => a.startedAt - b.startedAt);
      return {
        uuid: vm.uuid,
        name: vm.name,
        allocations: await Promise.all(
          allocations.map(async (a) => ({
            ...allocationJson(a),
            relabels: (await reads.relabels(a)).map((r) => ({
              path: r.path,
              action: r.action,
              labelBefore: r.labelBefore,
              labelAfter: r.labelAfter,
              error: r.error,
              at: formatTime(r.at),
            })),
          })),
        ),
      };
    },
  );
}
