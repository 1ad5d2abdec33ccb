/**
 * A denial with its attribution, as the query layer returns it and every answer (CLI,
 * API, reports) consumes it. Attribution is computed at query time (store/denial-query.ts).
 */

import type { Allocation } from './allocation.js';
import type { DenialKind } from './denial-kind.js';

export interface AttributedDenial {
  id: number;
  eventId: number;
  time: number;
  host: string;
  serial: number;
  model: 'selinux' | 'apparmor';
  recordType: string;
  kind: DenialKind;
  permissive: boolean;
  granted: boolean;
  perms: string[];
  tclass: string | null;
  source: {
    context: string | null;
    type: string | null;
    categories: string | null;
    pid: number | null;
    comm: string | null;
    exe: string | null;
    allocation: Allocation | null;
  };
  target: {
    context: string | null;
    type: string | null;
    categories: string | null;
    path: string | null;
    name: string | null;
    dev: string | null;
    inode: number | null;
    allocation: Allocation | null;
    formerHolder: Allocation | null;
  };
  apparmor: {
    profile: string;
    child: string | null;
    operation: string | null;
    requestedMask: string | null;
    deniedMask: string | null;
    fsuid: number | null;
    ouid: number | null;
  } | null;
  syscall: { number: number | null; success: boolean | null; exit: number | null } | null;
  proctitle: string | null;
}
