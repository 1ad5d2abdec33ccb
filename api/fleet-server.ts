/** `serve --store postgres://…`: the fleet's central read server, listening. */

import { openFleet } from '../store/postgres/connect.js';
import { postgresBackend } from '../store/read-backend.js';
import { buildFleetApp } from './fleet-app.js';
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
}

export async function startFleetServer(options: FleetServeOptions): Promise<RunningServer> {
  const { host, port } = splitListen(options.listen);
  let tokens = TokenSet.load(options.tokensPath);
  assertListenAllowed(host, options.allowRemote, tokens, options.tokensPath);
  const pool = await openFleet(options.url, { max: 10 });
  const app = await buildFleetApp({
    backend: postgresBackend(pool),
    pool,
    tokens: () => tokens,
    logger: { level: options.logLevel ?? 'info', ...(options.logStream && { stream: options.logStream }) },
    version: options.version,
  });
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    await pool.end();
    throw error;
  }
  const address = boundAddress(app, options.listen);
  let closed = false;
  return {
    app,
    address,
    reloadTokens() {
      tokens = reloadedTokens(tokens, options.tokensPath, app.log);
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await pool.end();
    },
  };
}
