/** GET /v1/reports/:ref: an incident report, streamed, in the format asked for. */

import type { FastifyInstance } from 'fastify';
import { assertTimeWindow, parseTimeSpec } from '../../core/time-spec.js';
import { REPORT_FORMATS, renderReport, type ReportFormat } from '../../report/render.js';
import { collectReportHeader } from '../../report/report-model.js';
import type { ApiContext } from '../context.js';
import { ERROR_RESPONSES, TIME_PARAM } from '../schemas.js';

const CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** The HTTP trailer holding a CSV report's SHA-256 (the CLI writes FILE.sha256 instead). */
export const CSV_SHA256_TRAILER = 'x-report-sha256';

export async function reportRoutes(
  app: FastifyInstance,
  { ctx, version, dbPath }: { ctx: ApiContext; version: string; dbPath: string },
): Promise<void> {
  app.get<{ Params: { ref: string }; Querystring: { format?: ReportFormat; since?: string; until?: string } }>(
    '/v1/reports/:ref',
    {
      schema: {
        params: {
          type: 'object',
          properties: { ref: { type: 'string', minLength: 1, maxLength: 200 } },
          required: ['ref'],
          additionalProperties: false,
        },
        querystring: {
          type: 'object',
          properties: {
            format: { type: 'string', enum: [...REPORT_FORMATS], default: 'json' },
            since: TIME_PARAM,
            until: TIME_PARAM,
          },
          additionalProperties: false,
        },
        response: { ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const format = q.format ?? 'json';
      // Resolve everything that can fail before the first byte is sent.
      const since = q.since === undefined ? undefined : parseTimeSpec(q.since);
      const until = q.until === undefined ? undefined : parseTimeSpec(q.until);
      assertTimeWindow(since, until);
      const header = collectReportHeader(ctx.store, {
        vm: request.params.ref,
        ...(since !== undefined && { since }),
        ...(until !== undefined && { until }),
        dbPath,
        version,
      });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="${header.vm.name.replace(/[^A-Za-z0-9._-]/g, '_')}-report.${format}"`,
        // A CSV carries no hashes inside; its SHA-256 follows the body as a trailer.
        ...(format === 'csv' && { trailer: CSV_SHA256_TRAILER }),
      });
      const csvSha256 = renderReport(ctx.store, header, format, { write: (s) => res.write(s) });
      if (csvSha256 !== null) res.addTrailers({ [CSV_SHA256_TRAILER]: csvSha256 });
      res.end();
    },
  );
}
