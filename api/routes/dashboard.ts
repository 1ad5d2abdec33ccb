/**
 * Serves the dashboard's page at `/` and its assets at `/assets/…`, on a host's `serve`
 * and on the fleet's central server alike. The page carries no data (it asks the API, with
 * the reader's token), so it is served without one. A strict Content-Security-Policy: no
 * inline script or style, nothing from another origin.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../errors.js';

export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  cache: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** dist/dashboard/site (built from dashboard/), found from this file in dist/ or in the sources (tests). */
function siteDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'dist', 'dashboard', 'site');
}

function loadSite(): Map<string, Asset> {
  const site = siteDir();
  const assets = new Map<string, Asset>();
  if (!existsSync(join(site, 'index.html'))) return assets;
  const add = (path: string, file: string, cache: string) => {
    const body = readFileSync(file);
    const type = TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
    assets.set(path, { body, gzip: gzipSync(body, { level: 9 }), type, cache });
  };
  // The page is asked again each time (it names the assets); assets are named by their hash.
  add('/', join(site, 'index.html'), 'no-cache');
  for (const name of readdirSync(join(site, 'assets')))
    add(`/assets/${name}`, join(site, 'assets', name), 'public, max-age=31536000, immutable');
  return assets;
}

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadSite();
  const send = (request: FastifyRequest, reply: FastifyReply, asset: Asset) => {
    reply
      .header('content-security-policy', DASHBOARD_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', asset.cache)
      .header('vary', 'accept-encoding')
      .type(asset.type);
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')))
      return reply.header('content-encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  };
  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const page = assets.get('/');
    if (!page)
      return reply
        .code(503)
        .send(
          errorBody('DASHBOARD_NOT_BUILT', 'the dashboard is not built', 'run npm run build, then start serve again'),
        );
    return send(request, reply, page);
  });
  app.get<{ Params: { file: string } }>('/assets/:file', { schema: { hide: true } }, async (request, reply) => {
    const asset = assets.get(`/assets/${request.params.file}`);
    if (!asset) return reply.code(404).send(errorBody('NOT_FOUND', 'no such asset of the dashboard'));
    return send(request, reply, asset);
  });
}
