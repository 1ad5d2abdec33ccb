/**
 * Where `serve --syslog` sends: a local datagram socket (`unix:/dev/log`, or a path),
 * `udp://host:514`, `tcp://host:514`, or `tls://host:6514` (RFC 5425; `?ca=FILE` for a
 * private CA, `&cert=FILE&key=FILE` for a client certificate). Anything else is refused
 * with the forms that work.
 */

import { SvirtAuditError } from '../core/errors.js';

export type SyslogDestination =
  | { kind: 'unix'; path: string }
  | { kind: 'udp'; host: string; port: number }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'tls'; host: string; port: number; ca?: string; cert?: string; key?: string };

const FORMS = 'unix:/dev/log, udp://host:514, tcp://host:514 or tls://host:6514[?ca=FILE]';

export function parseSyslogDestination(text: string): SyslogDestination {
  const bad = (why: string) => new SvirtAuditError('BAD_INPUT', `--syslog ${text}: ${why}`, `write ${FORMS}`);
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path.startsWith('/')) throw bad('a socket path must be absolute');
    return { kind: 'unix', path };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not a destination');
  }
  const kind = url.protocol.slice(0, -1);
  if (kind !== 'udp' && kind !== 'tcp' && kind !== 'tls') throw bad(`${url.protocol} is not a syslog transport`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('no host');
  const port = url.port === '' ? (kind === 'tls' ? 6514 : 514) : Number(url.port);
  if (kind !== 'tls') {
    if (url.search !== '') throw bad('only tls:// takes options');
    return kind === 'udp' ? { kind, host, port } : { kind, host, port };
  }
  const options: { ca?: string; cert?: string; key?: string } = {};
  for (const [k, v] of url.searchParams) {
    if (k !== 'ca' && k !== 'cert' && k !== 'key') throw bad(`${k} is not a TLS option (ca, cert, key)`);
    if (!v.startsWith('/')) throw bad(`${k} must be an absolute path`);
    options[k] = v;
  }
  if ((options.cert === undefined) !== (options.key === undefined)) throw bad('cert and key go together');
  return { kind, host, port, ...options };
}

/** The destination as logs and /healthz show it. */
export function describeSyslogDestination(d: SyslogDestination): string {
  if (d.kind === 'unix') return `unix:${d.path}`;
  return `${d.kind}://${d.host.includes(':') ? `[${d.host}]` : d.host}:${d.port}`;
}
