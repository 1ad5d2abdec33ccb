/**
 * The HTTP API, built apart from listening: `serve` calls listen, tests call inject().
 * Every input is validated by JSON schema (unknown fields rejected), every error is a JSON
 * body with a code and what to do (api/errors.ts), never a stack trace. Reads and writes
 * are separate scopes, each wrapped by its auth plugin; writes are rate-limited.
 */

import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { sqliteReportReads } from '../store/report-reads.js';
import { openStore, storeErrorOf } from '../store/store.js';
import { denialsAfter, latestDenialId } from '../store/denial-query.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { createApiBase } from './api-base.js';
import { authPlugin, clientKey } from './auth.js';
import type { ApiContext } from './context.js';
import { allocationReadRoutes, allocationWriteRoutes } from './routes/allocations.js';
import { denialRoutes } from './routes/denials.js';
import { healthRoutes } from './routes/health.js';
import { hostRoutes } from './routes/hosts.js';
import { timelineRoutes } from './routes/timeline.js';
import { reportRoutes } from './routes/reports.js';
import { streamRoutes } from './routes/stream.js';
import { vmRoutes } from './routes/vms.js';
import { DEFAULT_SLOW_CLIENT_LIMITS, SlowClientGuard, type SlowClientLimits } from './slow-clients.js';

export interface BuildAppOptions {
  ctx: ApiContext;
  logger?: FastifyServerOptions['logger'];
  /** Write requests per minute per client (default 120). */
  writeRateLimit?: number;
  /** Bounds on streams and reports, for slow or greedy readers (api/slow-clients.ts). */
  slowClients?: Partial<SlowClientLimits>;
  version?: string;
}

export { BODY_LIMIT } from './api-base.js';

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { ctx } = options;
  const guard = new SlowClientGuard(
    { ...DEFAULT_SLOW_CLIENT_LIMITS, ...options.slowClients },
    () => ctx.metrics.slowClientsDropped++,
  );
  const app = await createApiBase({
    logger: options.logger ?? false,
    title: 'svirt-audit',
    description: 'Which confined VM was denied what, when, and why.',
    version: options.version ?? '0',
    domainErrorOf: storeErrorOf,
  });

  // Streams and reports never end by themselves: cut them, or close would wait on them.
  app.addHook('preClose', async () => guard.closeAll());

  // The dashboard's page and assets (no data in them: the page asks the API with a token).
  await app.register(dashboardRoutes);

  // Readers: every GET route.
  await app.register(async (scope) => {
    await authPlugin(scope, { tokens: ctx.tokens, need: 'reader' });
    await scope.register(vmRoutes, { ctx });
    await scope.register(denialRoutes, { ctx });
    await scope.register(allocationReadRoutes, { ctx });
    await scope.register(streamRoutes, { ctx, guard });
    await scope.register(healthRoutes, { ctx });
    await scope.register(hostRoutes, { ctx });
    await scope.register(timelineRoutes, { reads: sqliteReportReads(ctx.store) });
    await scope.register(reportRoutes, {
      reads: sqliteReportReads(ctx.store),
      openRowReads: () => {
        const reader = openStore(ctx.store.path, { readonly: true });
        return { reads: sqliteReportReads(reader), close: () => reader.close() };
      },
      database: ctx.store.path,
      version: options.version ?? '0',
      guard,
    });
    scope.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });

  // Recorders: the launch-side writes, rate-limited.
  await app.register(async (scope) => {
    await authPlugin(scope, { tokens: ctx.tokens, need: 'recorder' });
    await scope.register(rateLimit, {
      max: options.writeRateLimit ?? 120,
      timeWindow: '1 minute',
      // Per client: its token, however the header spells the scheme (see clientKey).
      keyGenerator: clientKey,
      errorResponseBuilder: (_req, context) => ({
        statusCode: 429,
        message: `more than ${context.max} writes a minute`,
      }),
    });
    await scope.register(allocationWriteRoutes, { ctx });
  });

  // Count denials for /metrics as they are stored.
  let counted = latestDenialId(ctx.store);
  const unsubscribe = ctx.notifier.onStored(() => {
    for (const d of denialsAfter(ctx.store, counted, 10_000)) {
      ctx.metrics.countDenial(d);
      counted = d.id;
    }
  });
  app.addHook('onClose', async () => unsubscribe());
  return app;
}
