/**
 * One place that turns an error into what the user reads and the exit status, in the
 * manner of npm's lib/utils/error-message.js: a summary line, then what to do.
 */

import { type ErrorCode, isSvirtAuditError } from '../core/errors.js';
import { storeErrorOf } from '../store/store.js';

/** The exit statuses README documents; a status never changes meaning. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  badInput: 2,
  conflict: 3,
  notFound: 4,
  database: 5,
  launchFailed: 6,
  reportAltered: 7,
} as const;

const STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: EXIT.badInput,
  BAD_CONTEXT: EXIT.badInput,
  HOOK_INPUT: EXIT.badInput,
  AMBIGUOUS_VM: EXIT.badInput,
  ALLOCATION_CONFLICT: EXIT.conflict,
  RANGE_EXHAUSTED: EXIT.conflict,
  NOT_ENFORCING: EXIT.conflict,
  NO_OPEN_ALLOCATION: EXIT.notFound,
  UNKNOWN_VM: EXIT.notFound,
  UNKNOWN_DENIAL: EXIT.notFound,
  UNKNOWN_HOLD: EXIT.notFound,
  DB_TOO_NEW: EXIT.database,
  DB_BUSY: EXIT.database,
  DB_OPEN: EXIT.database,
  DB_DAMAGED: EXIT.database,
  DB_WRITE: EXIT.database,
  FLEET_REFUSED: EXIT.database,
  LAUNCH_FAILED: EXIT.launchFailed,
};

/** Errors of the file system on a path the user named (a file to read, an --out to write). */
const PATH_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/** The message (ending in a newline) and exit status for any thrown value. */
export function formatError(thrown: unknown): { message: string; status: number } {
  const error = storeErrorOf(thrown) ?? thrown;
  if (isSvirtAuditError(error)) {
    const hint = error.hint ? `\n  ${error.hint}` : '';
    return { message: `svirt-audit: ${error.message}${hint}\n`, status: STATUS[error.code] };
  }
  const sys = error as NodeJS.ErrnoException;
  const reason = typeof sys?.code === 'string' ? PATH_ERRORS[sys.code] : undefined;
  if (reason !== undefined && typeof sys.path === 'string') {
    return {
      message: `svirt-audit: cannot ${sys.syscall ?? 'use'} ${sys.path}: ${reason}\n  check the path and its permissions\n`,
      status: EXIT.badInput,
    };
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    message: `svirt-audit: unexpected error: ${text}\n  this is a bug; please report it with the command you ran\n`,
    status: EXIT.unexpected,
  };
}
