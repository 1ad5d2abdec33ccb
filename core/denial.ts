/**
 * What the kernel refused (or, in permissive mode, would have refused), as read from one
 * audit event, before attribution. Shared by the collector (which builds it), the store
 * (which keeps it) and the answers (which attribute and explain it).
 */

export type DenialModel = 'selinux' | 'apparmor';

export interface DenialSubject {
  /** SELinux scontext, or the AppArmor profile. */
  readonly context: string | null;
  readonly type: string | null;
  /** Canonical category set of the context ('' when it has none; null when not SELinux). */
  readonly categories: string | null;
  readonly pid: number | null;
  readonly comm: string | null;
  readonly exe: string | null;
}

export interface DenialObject {
  readonly context: string | null;
  readonly type: string | null;
  readonly categories: string | null;
  /** Full path when the event has one (AVC path=, AVC_PATH, or PATH resolved against CWD). */
  readonly path: string | null;
  /** The name the AVC reports (often the last path component). */
  readonly name: string | null;
  readonly dev: string | null;
  readonly inode: number | null;
}

export interface AppArmorDetail {
  /** The profile without its `//child` part. */
  readonly profile: string;
  /** The hat or child profile after `//`, if any. */
  readonly child: string | null;
  readonly operation: string | null;
  readonly requestedMask: string | null;
  readonly deniedMask: string | null;
  readonly fsuid: number | null;
  readonly ouid: number | null;
  readonly info: string | null;
  readonly error: string | null;
  readonly class: string | null;
}

export interface SyscallDetail {
  readonly syscall: number | null;
  readonly success: boolean | null;
  readonly exit: number | null;
  readonly auid: number | null;
  readonly uid: number | null;
}

export interface DenialFacts {
  readonly model: DenialModel;
  /** The record it came from: AVC, USER_AVC, or an APPARMOR_* type. */
  readonly recordType: string;
  /** SELinux `avc: granted` (auditallow): kept as a record of access, never counted as a denial. */
  readonly granted: boolean;
  /** `permissive=1`, or AppArmor `ALLOWED` (complain mode): would be denied when enforcing. */
  readonly permissive: boolean;
  readonly perms: readonly string[];
  readonly tclass: string | null;
  readonly source: DenialSubject;
  readonly target: DenialObject;
  readonly apparmor: AppArmorDetail | null;
  readonly syscall: SyscallDetail | null;
  /** The process's command line from PROCTITLE, arguments joined by spaces. */
  readonly proctitle: string | null;
}

/** Facts from the audit trail that are not denials but explain them. */
export type AuditFact =
  | {
      readonly kind: 'virt-machine-id';
      readonly vmName: string | null;
      readonly uuid: string | null;
      readonly vmContext: string | null;
      readonly imageContext: string | null;
      readonly model: string | null;
      readonly pid: number | null;
      readonly success: boolean;
    }
  | {
      readonly kind: 'virt-control';
      readonly op: string | null;
      readonly reason: string | null;
      readonly vmName: string | null;
      readonly uuid: string | null;
      readonly vmPid: number | null;
      readonly success: boolean;
    }
  | {
      readonly kind: 'virt-resource';
      readonly resource: string | null;
      readonly reason: string | null;
      readonly vmName: string | null;
      readonly uuid: string | null;
      readonly oldValue: string | null;
      readonly newValue: string | null;
      readonly success: boolean;
    }
  | {
      readonly kind: 'mac-status';
      readonly enforcing: boolean | null;
      readonly oldEnforcing: boolean | null;
      readonly enabled: boolean | null;
      readonly lsm: string | null;
    }
  | {
      readonly kind: 'selinux-error';
      readonly recordType: string;
      readonly op: string | null;
      readonly invalidContext: string | null;
      readonly scontext: string | null;
      readonly tcontext: string | null;
      readonly tclass: string | null;
    }
  | { readonly kind: 'policy-load'; readonly recordType: string };
