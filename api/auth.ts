/**
 * Who may do what. Registered as a plugin on the scopes that need it (fastify
 * encapsulation), so the wrapped routes are visible where they are declared.
 *
 * - With a token file: every request needs `Authorization: Bearer <token>`; GET routes take
 *   a reader or recorder token, write routes a recorder token.
 * - Without one: reads are open to loopback and unix-socket clients only; writes are refused.
 */

import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from './errors.js';
import type { TokenRole, TokenSet } from './tokens.js';

export interface AuthOptions {
  /** Current tokens (reloaded on SIGHUP, so read through a getter). */
  tokens: () => TokenSet;
  need: TokenRole;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function isLocal(request: FastifyRequest): boolean {
  const addr = request.socket.remoteAddress;
  // A unix socket has no remote address.
  return addr === undefined || LOOPBACK.has(addr);
}

/** The token of an `Authorization: Bearer <token>` header (scheme in any case, any spacing), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Who a client is, for per-client limits: its token (hashed; the token is not kept) when it
 * sent one, else its address; unix-socket clients without a token share one key.
 */
export function clientKey(request: FastifyRequest): string {
  const token = bearerToken(request.headers.authorization);
  if (token !== undefined) return `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  return request.socket.remoteAddress ?? 'unix-socket';
}

function deny(reply: FastifyReply, status: 401 | 403, code: string, message: string, hint: string): FastifyReply {
  return reply.code(status).send(errorBody(code, message, hint));
}

export async function authPlugin(app: FastifyInstance, options: AuthOptions): Promise<void> {
  app.addHook('onRequest', async (request, reply) => {
    const tokens = options.tokens();
    const header = request.headers.authorization;
    if (!tokens.configured) {
      if (options.need === 'recorder') {
        return deny(
          reply,
          403,
          'AUTH_FORBIDDEN',
          'writes are disabled: the server has no token file',
          'create one: svirt-audit token create --role recorder',
        );
      }
      if (!isLocal(request)) {
        return deny(
          reply,
          401,
          'AUTH_REQUIRED',
          'reads from other hosts need a token',
          'create one: svirt-audit token create --role reader',
        );
      }
      return;
    }
    const token = bearerToken(header);
    const role = token === undefined ? undefined : tokens.roleOf(token);
    if (!role)
      return deny(
        reply,
        401,
        'AUTH_REQUIRED',
        'a valid bearer token is required',
        'send Authorization: Bearer <token>',
      );
    if (options.need === 'recorder' && role !== 'recorder') {
      return deny(
        reply,
        403,
        'AUTH_FORBIDDEN',
        'this route needs a recorder token',
        'create one: svirt-audit token create --role recorder',
      );
    }
  });
}
