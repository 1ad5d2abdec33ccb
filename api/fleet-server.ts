/** `serve --store postgres://…`: the fleet's central read server, listening. */

import { openFleet } from '../store/postgres/connect.js';
import { postgresBackend } from '../store/postgres/postgres-backend.js';
import { FleetAnswerCache } from './fleet-answer-cache.js';
import { loadFleetAnswers, saveFleetAnswers } from './fleet-answer-file.js';
import { redactedUrl } from '../store/postgres/url.js';
import { buildFleetApp, fleetAnswers } from './fleet-app.js';
import { assertListenAllowed, boundAddress, reloadedTokens, type RunningServer, splitListen } from './server.js';
import { TokenSet } from './tokens.js';

export interface FleetServeOptions {
  /** The fleet database, as a reader role. */
  url: string;
  listen: string;
  tokensPath: string;
  allowRemote: boolean;
  version: string;
  logLevel?: string;
  logStream?: NodeJS.WritableStream;
  /** How often /v1/stream looks for newly shipped denials (default 1 s). */
  streamPollMs?: number;
  /** Where the summaries are saved for the next start (api/fleet-answer-file.ts); none without. */
  answerFile?: string;
  /** How often they are saved (default 10 min; also at stop). */
  saveIntervalMs?: number;
}

export async function startFleetServer(options: FleetServeOptions): Promise<RunningServer> {
  const { host, port } = splitListen(options.listen);
  let tokens = TokenSet.load(options.tokensPath);
  assertListenAllowed(host, options.allowRemote, tokens, options.tokensPath);
  const pool = await openFleet(options.url, { max: 10 });
  const backend = postgresBackend(pool);
  const cache = new FleetAnswerCache(pool);
  // The fleet as the file names it: the same server and database (the password is not in it).
  const fleet = redactedUrl(options.url);
  const answers = fleetAnswers(backend, pool, cache);
  const app = await buildFleetApp({
    backend,
    pool,
    answers,
    tokens: () => tokens,
    logger: { level: options.logLevel ?? 'info', ...(options.logStream && { stream: options.logStream }) },
    version: options.version,
    database: fleet,
    ...(options.streamPollMs !== undefined && { streamPollMs: options.streamPollMs }),
  });
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    await pool.end();
    throw error;
  }
  const address = boundAddress(app, options.listen);
  if (options.answerFile !== undefined) {
    const { entries, ignored } = loadFleetAnswers(options.answerFile, fleet);
    if (ignored) app.log.warn(`saved answers not used: ${ignored}`);
    cache.restore(entries);
  }
  const save = (why: string) => {
    if (options.answerFile === undefined) return;
    try {
      const entries = cache.entries('summary\u0000');
      saveFleetAnswers(options.answerFile, fleet, entries);
      app.log.debug({ summaries: entries.length }, `summaries saved (${why})`);
    } catch (error) {
      app.log.warn({ err: error }, 'the summaries were not saved; the next start computes them again');
    }
  };
  const saver = setInterval(() => save('periodic'), options.saveIntervalMs ?? 600_000);
  let closed = false;
  // The summaries computed ahead of their first request, as the host API warms its cache.
  const warming = answers
    .warm(() => closed)
    .then((n) => app.log.debug({ vms: n }, 'summary cache warmed'))
    .catch((error: unknown) => {
      if (!closed) app.log.error({ err: error }, 'warming the summary cache failed');
    });
  return {
    app,
    address,
    reloadTokens() {
      tokens = reloadedTokens(tokens, options.tokensPath, app.log);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(saver);
      await warming;
      save('stopping');
      await app.close();
      await pool.end();
    },
  };
}
