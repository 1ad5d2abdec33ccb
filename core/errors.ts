/**
 * Domain errors with stable codes. Every layer throws these; the CLI turns a code into an
 * exit status and a next step, the API into an HTTP status. Codes never change meaning.
 */

export const ERROR_CODES = {
  BAD_CONTEXT: 'an SELinux context or category set could not be read',
  BAD_INPUT: 'an argument is malformed',
  ALLOCATION_CONFLICT: 'another VM holds that label at that time',
  RANGE_EXHAUSTED: 'every category set in the range is held by a running VM',
  NO_OPEN_ALLOCATION: 'the VM has no open allocation on that host',
  UNKNOWN_VM: 'no VM with that name or uuid is recorded',
  UNKNOWN_DENIAL: 'no denial with that id is stored',
  UNKNOWN_HOLD: 'no active hold with that id',
  AMBIGUOUS_VM: 'more than one VM matches that name',
  DB_TOO_NEW: 'the database was written by a newer svirt-audit',
  DB_BUSY: 'the database stayed locked longer than the timeout',
  DB_OPEN: 'the database file could not be opened or created',
  DB_DAMAGED: 'the database file is damaged or is not a svirt-audit database',
  DB_WRITE: 'the database cannot be written: the disk is full, read-only or failing',
  FLEET_REFUSED: "the fleet's PostgreSQL refused this role the rows it tried to write or read",
  HOOK_INPUT: 'the libvirt hook received something it cannot read',
  NOT_ENFORCING: 'enforcement was required and the host does not enforce the VM confinement',
  LAUNCH_FAILED: 'a disk could not be relabelled, or the exec label or the program could not be set or started',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SvirtAuditError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it; shown under the message. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'SvirtAuditError';
    this.code = code;
    this.hint = hint;
  }
}

/** The part of a context that was wrong, so the message can point at it. */
export type ContextPart = 'context' | 'user' | 'role' | 'type' | 'level' | 'sensitivity' | 'category';

export class ContextError extends SvirtAuditError {
  readonly part: ContextPart;
  readonly input: string;

  constructor(part: ContextPart, message: string, input: string) {
    super('BAD_CONTEXT', `bad SELinux ${part}: ${message}`);
    this.name = 'ContextError';
    this.part = part;
    this.input = input;
  }
}

export function isSvirtAuditError(value: unknown): value is SvirtAuditError {
  return value instanceof SvirtAuditError;
}
