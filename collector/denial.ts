/**
 * From one completed event to its denials and facts. Pure.
 *
 * SELinux: each AVC / USER_AVC with an `avc: denied|granted { … }` prefix is one denial
 * (several AVCs in one event are several denials), enriched from the event's SYSCALL,
 * PATH/CWD/AVC_PATH and PROCTITLE. AppArmor: `apparmor="DENIED"|"ALLOWED"` in AVC
 * (type=1400), APPARMOR_* or USER_AVC records. VIRT_*, MAC_STATUS, SELINUX_ERR and
 * policy loads become facts.
 */

import { contextCategories, tryParseSelinuxContext } from '../core/selinux-context.js';
import type { AppArmorDetail, AuditFact, DenialFacts, DenialSubject, SyscallDetail } from '../core/denial.js';
import type { AuditEvent } from './assemble.js';
import type { AuditRecord } from './audit-record.js';
import { detached } from './detached-string.js';
import { type AuditFields, type FieldReader, KernelFields } from './record-body.js';
import { TYPE } from './record-types.js';

export interface EventFindings {
  readonly denials: DenialFacts[];
  /** The record each denial was read from (same order as `denials`). */
  readonly denialRecords: AuditRecord[];
  readonly facts: AuditFact[];
}

/** Record types whose events may hold a denial or a fact; others need no body parsing. */
export function isInterestingType(type: number): boolean {
  return (
    type === TYPE.AVC ||
    type === TYPE.USER_AVC ||
    type === TYPE.SELINUX_ERR ||
    type === TYPE.USER_SELINUX_ERR ||
    type === TYPE.MAC_STATUS ||
    type === TYPE.MAC_POLICY_LOAD ||
    type === TYPE.VIRT_CONTROL ||
    type === TYPE.VIRT_RESOURCE ||
    type === TYPE.VIRT_MACHINE_ID ||
    (type >= TYPE.APPARMOR_FIRST && type <= TYPE.APPARMOR_LAST)
  );
}

/** True when any record of the event may yield a finding (cheap: header only). */
export function eventIsInteresting(event: AuditEvent): boolean {
  for (const r of event.records) if (isInterestingType(r.typeNumber)) return true;
  return false;
}

/** The denials and facts of one event. Never throws. */
export function extractFindings(event: AuditEvent): EventFindings {
  const denials: DenialFacts[] = [];
  const denialRecords: AuditRecord[] = [];
  const facts: AuditFact[] = [];
  let context: EventContext | undefined;
  for (const record of event.records) {
    const t = record.typeNumber;
    if (t === TYPE.AVC || t === TYPE.USER_AVC || (t >= TYPE.APPARMOR_FIRST && t <= TYPE.APPARMOR_LAST)) {
      // Kernel AVCs in SELinux form are read straight from the line (the common case by far).
      const kernelAvc = t === TYPE.AVC && record.raw.startsWith('avc:', record.bodyStart);
      const fields: FieldReader | undefined = kernelAvc
        ? new KernelFields(record.raw, record.bodyStart, record.bodyEnd)
        : t === TYPE.USER_AVC
          ? record.fields.nested
          : record.fields;
      if (!fields) continue;
      if (fields.avc && (fields.avc.result === 'denied' || fields.avc.result === 'granted')) {
        context ??= eventContext(event);
        denials.push(selinuxDenial(record, fields, context));
        denialRecords.push(record);
      } else if (fields.has('apparmor')) {
        const verdict = fields.get('apparmor');
        if (verdict === 'DENIED' || verdict === 'ALLOWED') {
          denials.push(apparmorDenial(record, fields, verdict));
          denialRecords.push(record);
        }
      }
    } else if (t === TYPE.VIRT_MACHINE_ID || t === TYPE.VIRT_CONTROL || t === TYPE.VIRT_RESOURCE) {
      const fact = virtFact(record);
      if (fact) facts.push(fact);
    } else if (t === TYPE.MAC_STATUS) {
      const f = record.fields;
      facts.push({
        kind: 'mac-status',
        enforcing: flag(f.get('enforcing')),
        oldEnforcing: flag(f.get('old_enforcing')),
        enabled: flag(f.get('enabled')),
        lsm: f.get('lsm') ?? null,
      });
    } else if (t === TYPE.SELINUX_ERR || t === TYPE.USER_SELINUX_ERR) {
      const f = t === TYPE.USER_SELINUX_ERR ? (record.fields.nested ?? record.fields) : record.fields;
      facts.push({
        kind: 'selinux-error',
        recordType: record.type,
        op: f.get('op') ?? null,
        invalidContext: f.get('invalid_context') ?? null,
        scontext: f.get('scontext') ?? null,
        tcontext: f.get('tcontext') ?? null,
        tclass: f.get('tclass') ?? null,
      });
    } else if (t === TYPE.MAC_POLICY_LOAD) {
      facts.push({ kind: 'policy-load', recordType: record.type });
    }
  }
  return { denials, denialRecords, facts };
}

/** What the non-AVC records of an event say about the access. */
interface EventContext {
  syscall: SyscallDetail | null;
  exe: string | null;
  syscallPid: number | null;
  syscallComm: string | null;
  cwd: string | null;
  paths: { name: string; inode: number | null }[];
  avcPath: string | null;
  proctitle: string | null;
}

function eventContext(event: AuditEvent): EventContext {
  const ctx: EventContext = {
    syscall: null,
    exe: null,
    syscallPid: null,
    syscallComm: null,
    cwd: null,
    paths: [],
    avcPath: null,
    proctitle: null,
  };
  // These are kernel records: fields are read straight from the line (AuditRecord.field).
  for (const r of event.records) {
    switch (r.typeNumber) {
      case TYPE.SYSCALL: {
        const success = r.field('success');
        ctx.syscall = {
          syscall: r.intField('syscall') ?? null,
          success: success === undefined ? null : success === 'yes',
          exit: r.intField('exit') ?? null,
          auid: r.intField('auid') ?? null,
          uid: r.intField('uid') ?? null,
        };
        ctx.exe = r.field('exe') ?? null;
        ctx.syscallPid = r.intField('pid') ?? null;
        ctx.syscallComm = r.field('comm') ?? null;
        break;
      }
      case TYPE.CWD:
        ctx.cwd = r.field('cwd') ?? null;
        break;
      case TYPE.PATH: {
        const name = r.field('name');
        if (name !== undefined) ctx.paths.push({ name, inode: r.intField('inode') ?? null });
        break;
      }
      case TYPE.AVC_PATH:
        ctx.avcPath = r.field('path') ?? null;
        break;
      case TYPE.PROCTITLE: {
        const title = r.field('proctitle');
        if (title !== undefined)
          ctx.proctitle = title
            .split('\0')
            .filter((a) => a !== '')
            .join(' ');
        break;
      }
    }
  }
  return ctx;
}

function selinuxDenial(record: AuditRecord, f: FieldReader, ctx: EventContext): DenialFacts {
  // Properties are written out rather than spread from labelParts(): spreading cached
  // objects was the largest self time of the parser in the profile (bench/parse).
  const s = labelParts(f.get('scontext') ?? null);
  const t = labelParts(f.get('tcontext') ?? null);
  const inode = f.int('ino') ?? null;
  const name = f.get('name') ?? null;
  return {
    model: 'selinux',
    recordType: record.type,
    granted: f.avc?.result === 'granted',
    permissive: f.get('permissive') === '1',
    perms: f.avc?.perms ?? [],
    tclass: f.get('tclass') ?? null,
    source: {
      context: s.context,
      type: s.type,
      categories: s.categories,
      pid: f.int('pid') ?? ctx.syscallPid,
      comm: f.get('comm') ?? ctx.syscallComm,
      exe: f.get('exe') ?? ctx.exe,
    },
    target: {
      context: t.context,
      type: t.type,
      categories: t.categories,
      path: f.get('path') ?? ctx.avcPath ?? resolvePath(ctx, inode, name),
      name,
      dev: f.get('dev') ?? null,
      inode,
    },
    apparmor: null,
    syscall: ctx.syscall,
    proctitle: ctx.proctitle,
  };
}

/** The PATH item whose inode matches the AVC's (else the only one), against CWD if relative. */
function resolvePath(ctx: EventContext, inode: number | null, name: string | null): string | null {
  let item = inode === null ? undefined : ctx.paths.find((p) => p.inode === inode);
  if (!item && ctx.paths.length === 1 && (name === null || ctx.paths[0]?.name.endsWith(name))) item = ctx.paths[0];
  if (!item) return null;
  if (item.name.startsWith('/')) return item.name;
  if (ctx.cwd === null) return null;
  return ctx.cwd.endsWith('/') ? `${ctx.cwd}${item.name}` : `${ctx.cwd}/${item.name}`;
}

// Optimization: a log repeats a handful of contexts thousands of times; parsing each once
// (bounded, cleared when full) removes most of the per-denial cost (bench/parse).
const LABEL_CACHE_LIMIT = 4096;
const labelCache = new Map<string, Pick<DenialSubject, 'context' | 'type' | 'categories'>>();

function labelParts(context: string | null): Pick<DenialSubject, 'context' | 'type' | 'categories'> {
  if (context === null) return { context: null, type: null, categories: null };
  let parts = labelCache.get(context);
  if (parts === undefined) {
    const own = detached(context);
    const parsed = tryParseSelinuxContext(own);
    parts = parsed
      ? { context: own, type: parsed.type, categories: contextCategories(parsed).toString() }
      : { context: own, type: null, categories: null };
    if (labelCache.size >= LABEL_CACHE_LIMIT) labelCache.clear();
    labelCache.set(own, parts);
  }
  return parts;
}

function apparmorDenial(record: AuditRecord, f: FieldReader, verdict: 'DENIED' | 'ALLOWED'): DenialFacts {
  const full = f.get('profile') ?? '';
  const slash = full.indexOf('//');
  const detail: AppArmorDetail = {
    profile: slash === -1 ? full : full.slice(0, slash),
    child: slash === -1 ? null : full.slice(slash + 2),
    operation: f.get('operation') ?? null,
    requestedMask: f.get('requested_mask') ?? null,
    deniedMask: f.get('denied_mask') ?? null,
    fsuid: f.int('fsuid') ?? null,
    ouid: f.int('ouid') ?? null,
    info: f.get('info') ?? null,
    error: f.get('error') ?? null,
    class: f.get('class') ?? null,
  };
  const name = f.get('name') ?? null;
  return {
    model: 'apparmor',
    recordType: record.type,
    granted: false,
    permissive: verdict === 'ALLOWED',
    perms: maskPermissions(detail.deniedMask ?? detail.requestedMask),
    tclass: detail.class,
    source: {
      context: full || null,
      type: null,
      categories: null,
      pid: f.int('pid') ?? null,
      comm: f.get('comm') ?? null,
      exe: null,
    },
    target: {
      context: null,
      type: null,
      categories: null,
      path: name?.startsWith('/') ? name : null,
      name,
      dev: null,
      inode: null,
    },
    apparmor: detail,
    syscall: null,
    proctitle: null,
  };
}

// AppArmor's file mask letters (apparmor.d(5)); other classes keep their own words.
const MASK_WORDS: Record<string, string> = {
  r: 'read',
  w: 'write',
  a: 'append',
  x: 'exec',
  m: 'mmap',
  k: 'lock',
  l: 'link',
  c: 'create',
  d: 'delete',
  o: 'open',
  t: 'setattr',
  R: 'read',
  W: 'write',
  N: 'rename',
  D: 'delete',
};

function maskPermissions(mask: string | null): string[] {
  if (!mask) return [];
  if (mask.includes(' ')) return mask.split(' ').filter((w) => w !== '');
  const out: string[] = [];
  for (const ch of mask) {
    const word = MASK_WORDS[ch] ?? ch;
    if (!out.includes(word)) out.push(word);
  }
  return out;
}

function virtFact(record: AuditRecord): AuditFact | undefined {
  const f = record.fields.nested ?? record.fields;
  const success = f.get('res') === 'success' || f.get('res') === '1';
  const vmName = f.get('vm') ?? null;
  const uuid = f.get('uuid') ?? null;
  switch (record.typeNumber) {
    case TYPE.VIRT_MACHINE_ID:
      return {
        kind: 'virt-machine-id',
        vmName,
        uuid,
        vmContext: f.get('vm-ctx') ?? null,
        imageContext: f.get('img-ctx') ?? null,
        model: f.get('model') ?? null,
        pid: record.fields.int('pid') ?? null,
        success,
      };
    case TYPE.VIRT_CONTROL:
      return {
        kind: 'virt-control',
        op: f.get('op') ?? null,
        reason: f.get('reason') ?? null,
        vmName,
        uuid,
        vmPid: f.int('vm-pid') ?? null,
        success,
      };
    case TYPE.VIRT_RESOURCE: {
      const resource = f.get('resrc') ?? null;
      return {
        kind: 'virt-resource',
        resource,
        reason: f.get('reason') ?? null,
        vmName,
        uuid,
        oldValue: (resource && f.get(`old-${resource}`)) || firstWithPrefix(f, 'old-'),
        newValue: (resource && f.get(`new-${resource}`)) || firstWithPrefix(f, 'new-'),
        success,
      };
    }
  }
  return undefined;
}

function firstWithPrefix(f: AuditFields, prefix: string): string | null {
  for (const [k, v] of f.values) if (k.startsWith(prefix) && v !== null) return v;
  return null;
}

function flag(value: string | undefined): boolean | null {
  if (value === undefined) return null;
  return value === '1';
}
