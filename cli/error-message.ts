/**
 * One place that turns an error into what the user reads and the exit status, in the
 * manner of npm's lib/utils/error-message.js: a summary line, then what to do.
 */

import { type ErrorCode, isSvirtAuditError } from '../core/errors.js';
import { storeErrorOf } from '../store/store.js';

const STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 2,
  BAD_CONTEXT: 2,
  HOOK_INPUT: 2,
  ALLOCATION_CONFLICT: 3,
  RANGE_EXHAUSTED: 3,
  NOT_ENFORCING: 3,
  NO_OPEN_ALLOCATION: 4,
  UNKNOWN_VM: 4,
  UNKNOWN_DENIAL: 4,
  UNKNOWN_HOLD: 4,
  AMBIGUOUS_VM: 2,
  DB_TOO_NEW: 5,
  DB_BUSY: 5,
  DB_OPEN: 5,
  DB_DAMAGED: 5,
  DB_WRITE: 5,
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
      status: 2,
    };
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    message: `svirt-audit: unexpected error: ${text}\n  this is a bug; please report it with the command you ran\n`,
    status: 1,
  };
}
