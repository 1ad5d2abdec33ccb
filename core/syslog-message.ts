/**
 * A denial as one RFC 5424 syslog message: facility authpriv, a severity from its kind,
 * the audit record's time and host, MSGID the kind, the denial's fields as structured
 * data (SD-ID `svirt-audit@32473`, the documentation enterprise number of RFC 5612), and a
 * one-line text. Pure formatting; header fields keep to printable US-ASCII as the RFC
 * demands, parameter values escape `"`, `\` and `]`, and control characters a guest put in
 * a name are shown as `\xHH`. Values are cut to 1,024 characters and the text to 2,048,
 * so a message fits a UDP datagram and rsyslog's default 8 KiB limit.
 */

import { showControlCharacters } from './control-characters.js';
import type { DenialJson } from './denial-json.js';
import type { DenialKind } from './denial-kind.js';

export const SYSLOG_SD_ID = 'svirt-audit@32473';
const AUTHPRIV = 10;
const MAX_VALUE = 1024;
const MAX_TEXT = 2048;

const SEVERITY: Record<DenialKind, number> = {
  'cross-vm': 2, // crit
  'stale-label': 3, // err
  'unlabeled-target': 4, // warning
  'shared-resource': 4,
  'apparmor-profile': 4,
  unattributed: 5, // notice
  policy: 5,
};

/** A header field: printable US-ASCII (33–126) only, at most `max` characters, `-` when empty. */
function headerField(text: string, max: number): string {
  const clean = text.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const paramValue = (v: string) => cut(showControlCharacters(v), MAX_VALUE).replace(/(["\\\]])/g, '\\$1');

/** The one-line text of a denial: who was denied what, and whose it was. */
export function denialText(d: DenialJson): string {
  const who = d.source.vm?.name ?? d.source.comm ?? d.source.context ?? d.apparmor?.profile ?? 'a process';
  const what = [d.tclass, d.target.path ?? d.target.name].filter((x) => x !== null).join(' ');
  const whose = d.target.vm ? ` of ${d.target.vm.name}` : '';
  return showControlCharacters(`${d.kind}: ${who} denied ${d.perms.join(' ')} on ${what}${whose}`);
}

/** The message without framing (the transport adds octet counting on TCP). */
export function denialSyslog(d: DenialJson, sender: { procId: number }): string {
  const params: [string, string | number | boolean | null][] = [
    ['id', d.id],
    ['kind', d.kind],
    ['model', d.model],
    ['perms', d.perms.join(' ')],
    ['tclass', d.tclass],
    ['permissive', d.permissive],
    ['vm', d.source.vm?.name ?? null],
    ['vmUuid', d.source.vm?.uuid ?? null],
    ['targetVm', d.target.vm?.name ?? null],
    ['targetVmUuid', d.target.vm?.uuid ?? null],
    ['scontext', d.source.context ?? d.apparmor?.profile ?? null],
    ['tcontext', d.target.context],
    ['path', d.target.path ?? d.target.name],
    ['comm', d.source.comm],
    ['pid', d.source.pid],
  ];
  const sd = params
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}="${paramValue(String(v))}"`)
    .join(' ');
  const pri = AUTHPRIV * 8 + SEVERITY[d.kind];
  const header = [
    `<${pri}>1`,
    d.time,
    headerField(d.host, 255),
    'svirt-audit',
    headerField(String(sender.procId), 128),
    headerField(d.kind, 32),
  ].join(' ');
  // BOM: the RFC's mark that the text is UTF-8.
  return `${header} [${SYSLOG_SD_ID} ${sd}] \ufeff${cut(denialText(d), MAX_TEXT)}`;
}

/** Octet-counting framing (RFC 6587, RFC 5425): the message's length in bytes, a space, the message. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}
