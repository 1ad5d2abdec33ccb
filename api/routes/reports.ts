/**
 * GET /v1/reports/:ref: an incident report, streamed, in the format asked for.
 *
 * A report can be hundreds of megabytes. It is rendered a row at a time (on a read
 * connection of its own over SQLite, a keyset page at a time over the fleet's PostgreSQL) and
 * written in 64 KiB pieces with backpressure
 * (api/slow-clients.ts): a client that reads slowly holds one piece, one that stops
 * reading is dropped after the stall bound, and other requests run between pieces.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { assertTimeWindow, parseTimeSpec } from '../../core/time-spec.js';
import { REPORT_FORMATS, reportSteps, type ReportFormat } from '../../report/render.js';
import { collectReportHeader } from '../../report/report-model.js';
import type { ReportReads } from '../../store/report-reads.js';
import { clientKey } from '../auth.js';
import { ERROR_RESPONSES, TIME_PARAM } from '../schemas.js';
import { refuseTooMany, type SlowClientGuard } from '../slow-clients.js';

const PIECE_CHARS = 64 * 1024;

const CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** The HTTP trailer holding a CSV report's SHA-256 (the CLI writes FILE.sha256 instead). */
export const CSV_SHA256_TRAILER = 'x-report-sha256';

/** Where a report's reads come from: the header's, and a pair of its own for the streamed rows. */
export interface ReportRouteOptions {
  reads: ReportReads;
  openRowReads: () => { reads: ReportReads; close: () => void };
  /** The name the report gives its database (a path, or the fleet's URL without its password). */
  database: string;
  version: string;
  guard: SlowClientGuard;
}

export async function reportRoutes(
  app: FastifyInstance,
  { reads, openRowReads, database, version, guard }: ReportRouteOptions,
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
      const header = await collectReportHeader(reads, {
        vm: request.params.ref,
        ...(since !== undefined && { since }),
        ...(until !== undefined && { until }),
        dbPath: database,
        version,
      });
      const release = guard.tryOpen(clientKey(request), reply.raw);
      if (!release) return refuseTooMany(reply, guard);
      let rows: ReturnType<typeof openRowReads>;
      try {
        rows = openRowReads();
      } catch (error) {
        release();
        throw error;
      }
      reply.hijack();
      const res = reply.raw;
      res.on('close', release);
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[format],
        'content-disposition': `attachment; filename="${header.vm.name.replace(/[^A-Za-z0-9._-]/g, '_')}-report.${format}"`,
        // A CSV carries no hashes inside; its SHA-256 follows the body as a trailer.
        ...(format === 'csv' && { trailer: CSV_SHA256_TRAILER }),
      });
      let piece = '';
      const steps = reportSteps(rows.reads, header, format, { write: (s) => (piece += s) });
      try {
        for (;;) {
          const step = await steps.next();
          if (piece.length >= PIECE_CHARS || step.done) {
            const sent = piece === '' || (await guard.write(res, piece));
            piece = '';
            if (!sent) return; // the client left or was dropped
          }
          if (step.done) {
            if (step.value !== null) res.addTrailers({ [CSV_SHA256_TRAILER]: step.value });
            res.end();
            return;
          }
          if (piece === '') await nextTurn();
        }
      } catch (error) {
        request.log.error({ err: error }, 'the report failed after its first byte');
        res.destroy();
      } finally {
        await steps.return(null).catch(() => undefined);
        rows.close();
      }
    },
  );
}
