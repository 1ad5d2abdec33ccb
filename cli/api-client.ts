/**
 * Recording through the API's unix socket instead of opening the database (`--via-api`),
 * for launch hooks whose confinement forbids writing the database file. Plain node:http,
 * so the launch path still loads no fastify.
 */

import { request } from 'node:http';
import { ERROR_CODES, type ErrorCode, SvirtAuditError } from '../core/errors.js';

/** POST JSON to `path` over the unix socket; resolves with the parsed body, throws the API's error. */
export function postViaApi(
  socketPath: string,
  path: string,
  body: unknown,
  token: string | undefined,
  timeoutMs = 2000,
): Promise<Record<string, unknown>> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(token && { authorization: `Bearer ${token}` }),
        },
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = {};
          }
          if ((res.statusCode ?? 500) < 300) return resolve(parsed);
          const e = (parsed.error ?? {}) as { code?: string; message?: string; hint?: string };
          // Keep the domain code (conflict, not found, …) so the CLI's exit status matches.
          const code: ErrorCode = e.code !== undefined && e.code in ERROR_CODES ? (e.code as ErrorCode) : 'BAD_INPUT';
          reject(
            new SvirtAuditError(
              code,
              `the API refused it (${res.statusCode} ${e.code ?? ''}): ${e.message ?? text}`,
              e.hint,
            ),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', (error) =>
      reject(
        new SvirtAuditError(
          'DB_OPEN',
          `cannot reach the API at ${socketPath}: ${error.message}`,
          'is svirt-audit serve running with --socket?',
        ),
      ),
    );
    req.end(payload);
  });
}
