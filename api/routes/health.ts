/** GET /healthz (process, database, collector lag) and GET /metrics (Prometheus text). */

import type { FastifyInstance } from 'fastify';
import { countOpenAllocations } from '../../store/allocations.js';
import { countTrail } from '../../store/audit-trail.js';
import { SIZE_WARNING } from '../../retention/policy.js';
import type { RetentionStatus } from '../../retention/runner.js';
import type { ShipStatus } from '../../fleet/shipper.js';
import type { ApiContext } from '../context.js';

function storeHealth(r: RetentionStatus) {
  return {
    usedBytes: r.usedBytes,
    fileBytes: r.fileBytes,
    maxBytes: r.maxBytes,
    nearBound: r.maxBytes !== null && r.usedBytes > r.maxBytes * SIZE_WARNING,
    prunedDenials: r.prunedDenials,
    lastPrunedAt: r.lastRunAt === null ? null : new Date(r.lastRunAt).toISOString(),
  };
}

function shippingHealth(s: ShipStatus) {
  return {
    to: s.url,
    host: s.host,
    lagRows: s.lagRows,
    lagSeconds: s.lagSeconds,
    failures: s.failures,
    lastError: s.lastError,
    lastShippedAt: s.lastShippedAt === null ? null : new Date(s.lastShippedAt).toISOString(),
  };
}

export async function healthRoutes(app: FastifyInstance, { ctx }: { ctx: ApiContext }): Promise<void> {
  app.get('/healthz', async (_request, reply) => {
    let writable = true;
    let problem: string | undefined;
    try {
      ctx.store.probeWritable();
    } catch (error) {
      writable = false;
      problem = (error as Error).message;
    }
    const c = ctx.collector?.();
    const body = {
      status: writable ? 'ok' : 'degraded',
      database: { writable, ...(problem !== undefined && { problem }) },
      collector: c
        ? {
            following: c.path,
            lagBytes: c.lagBytes,
            lagSeconds: c.lagSeconds,
            failedCommits: c.failedCommits,
            eventsStored: c.writer.stored,
            eventsBelowHorizon: c.writer.belowHorizon,
          }
        : null,
      store: ctx.retention ? storeHealth(ctx.retention()) : null,
      shipping: ctx.shipping ? shippingHealth(ctx.shipping()) : null,
      alerts: ctx.alerting ? ctx.alerting() : null,
      syslog: ctx.syslog ? ctx.syslog() : null,
    };
    return reply.code(writable ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const c = ctx.collector?.();
    if (c) {
      ctx.metrics.recordsIngested = c.writer.stored;
      ctx.metrics.unparsedLines = c.writer.unparsed;
    }
    const text = ctx.metrics.render({
      ...(ctx.retention && { retention: ctx.retention() }),
      ...(ctx.shipping && { shipping: ctx.shipping() }),
      ...(ctx.alerting && { alerting: ctx.alerting() }),
      ...(ctx.syslog && { syslog: ctx.syslog() }),
      eventsBelowHorizon: c?.writer.belowHorizon ?? 0,
      lagBytes: c?.lagBytes ?? 0,
      lagSeconds: c?.lagSeconds ?? 0,
      allocationsOpen: countOpenAllocations(ctx.store),
      storedDenials: countTrail(ctx.store).denials,
    });
    return reply.type('text/plain; version=0.0.4').send(text);
  });
}
