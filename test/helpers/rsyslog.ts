/**
 * A real rsyslogd from Debian for the syslog tests, run in the foreground with its own
 * config in a scratch directory: a unix datagram socket, UDP, TCP and TLS (a CA and a
 * server certificate for 127.0.0.1 made with openssl), every message written to a file
 * with the fields rsyslog parsed, one line each. It can be stopped and started again on
 * the same ports.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

/** Why these tests cannot run here, or undefined when they can. */
export function rsyslogUnavailable(): string | undefined {
  for (const tool of ['/usr/sbin/rsyslogd', '/usr/bin/openssl'])
    if (!existsSync(tool)) return `${tool} is not installed (Debian packages rsyslog, rsyslog-openssl, openssl)`;
  if (!existsSync('/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so') && !existsSync('/usr/lib/rsyslog/lmnsd_ossl.so'))
    return "rsyslog's TLS driver is not installed (Debian package rsyslog-openssl)";
  return undefined;
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

export interface ReceivedSyslog {
  input: string;
  pri: number;
  time: string;
  hostname: string;
  app: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
}

export class Rsyslog {
  readonly socket: string;
  readonly ca: string;
  ports = { udp: 0, tcp: 0, tls: 0 };
  #child: ChildProcess | undefined;
  readonly #out: string;

  constructor(readonly dir: string) {
    this.socket = join(dir, 'log.sock');
    this.ca = join(dir, 'ca.pem');
    this.#out = join(dir, 'received.log');
  }

  async start(): Promise<this> {
    if (this.ports.tcp === 0) {
      this.ports = { udp: await freeUdpPort(), tcp: await freeTcpPort(), tls: await freeTcpPort() };
      this.#certificates();
    }
    const d = this.dir;
    writeFileSync(
      join(d, 'rsyslog.conf'),
      `global(workDirectory="${d}" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
input(type="imudp" address="127.0.0.1" port="${this.ports.udp}" name="udp")
input(type="imtcp" address="127.0.0.1" port="${this.ports.tcp}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="${this.ports.tls}" name="tls" StreamDriver.Name="ossl" StreamDriver.Mode="1"
      StreamDriver.AuthMode="anon" StreamDriver.CAFile="${d}/ca.pem" StreamDriver.CertFile="${d}/server.pem"
      StreamDriver.KeyFile="${d}/server.key")
input(type="imuxsock" Socket="${this.socket}" UseSpecialParser="off" ParseHostname="on" IgnoreTimestamp="off")
template(name="fields" type="string"
  string="%inputname%|%pri%|%timereported:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")
*.* action(type="omfile" file="${this.#out}" template="fields")
`,
    );
    const child = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(d, 'rsyslog.conf'), '-i', join(d, 'rsyslogd.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child = child;
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    // Ready when its TCP input takes a connection (its inputs start together).
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null) throw new Error(`rsyslogd exited: ${err}`);
      const ok = await new Promise<boolean>((resolve) => {
        const probe = connect(this.ports.tcp, '127.0.0.1');
        probe.once('connect', () => {
          probe.end();
          resolve(true);
        });
        probe.once('error', () => resolve(false));
      });
      if (ok && existsSync(this.socket)) return this;
      if (attempt > 200) throw new Error(`rsyslogd did not start listening: ${err}`);
      await new Promise((resolve) => setTimeout(resolve, 25)); // a process starting has no event to await
    }
  }

  #certificates(): void {
    const d = this.dir;
    const openssl = (args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: d, stdio: 'ignore' });
    openssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=svirt-audit test CA',
    ]);
    openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    writeFileSync(join(d, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    openssl([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ]);
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }

  /** Every message rsyslog wrote so far, parsed back from its fields. */
  received(): ReceivedSyslog[] {
    if (!existsSync(this.#out)) return [];
    return readFileSync(this.#out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [input, pri, time, hostname, app, procId, msgId, ...rest] = line.split('|');
        // The structured data ends at the last `]|`; the text may hold `|` itself.
        const tail = rest.join('|');
        const end = tail.lastIndexOf(']|');
        return {
          input: input as string,
          pri: Number(pri),
          time: time as string,
          hostname: hostname as string,
          app: app as string,
          procId: procId as string,
          msgId: msgId as string,
          structuredData: tail.slice(0, end + 1),
          msg: tail.slice(end + 2),
        };
      });
  }
}
