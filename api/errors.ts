/**
 * Every error the API returns, in one place (as fastify's lib/errors.js): a stable code,
 * the HTTP status, and the JSON body `{ "error": { "code", "message", "hint" } }`.
 * docs/api.md documents each code; a test checks that it does.
 */

import type { ErrorCode } from '../core/errors.js';

export const API_ERRORS = {
  VALIDATION: { status: 400, summary: 'a parameter or the body does not match the schema' },
  AUTH_REQUIRED: { status: 401, summary: 'no valid bearer token was presented' },
  AUTH_FORBIDDEN: { status: 403, summary: "the token's role may not do this, or writes are disabled" },
  NOT_FOUND: { status: 404, summary: 'no such route' },
  BODY_TOO_LARGE: { status: 413, summary: 'the request body is over the limit' },
  RATE_LIMITED: { status: 429, summary: 'too many write requests; retry later' },
  TOO_MANY_STREAMS: { status: 429, summary: 'too many streams and reports open, from this client or in all' },
  INTERNAL: { status: 500, summary: 'an unexpected error; the server log has the details' },
  DASHBOARD_NOT_BUILT: { status: 503, summary: 'the dashboard page was not built (npm run build)' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** HTTP status for each domain error the query and launch layers throw. */
export const DOMAIN_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  BAD_CONTEXT: 400,
  HOOK_INPUT: 400,
  ALLOCATION_CONFLICT: 409,
  RANGE_EXHAUSTED: 409,
  NOT_ENFORCING: 409,
  AMBIGUOUS_VM: 409,
  NO_OPEN_ALLOCATION: 404,
  UNKNOWN_VM: 404,
  UNKNOWN_DENIAL: 404,
  UNKNOWN_HOLD: 404,
  DB_BUSY: 503,
  DB_TOO_NEW: 500,
  DB_OPEN: 500,
  DB_DAMAGED: 500,
  DB_WRITE: 503,
  FLEET_REFUSED: 403,
  LAUNCH_FAILED: 500,
};

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

export function errorBody(code: string, message: string, hint?: string): ErrorBody {
  return { error: { code, message, ...(hint !== undefined && { hint }) } };
}
