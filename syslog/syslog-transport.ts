/**
 * Sending syslog messages: datagrams to a unix socket (through the native addon, since
 * Node has no AF_UNIX datagrams), UDP datagrams, or a TCP or TLS stream with octet-counting
 * framing. A stream is opened on first use and again after it broke; send() resolves once
 * every message was handed to the kernel, and throws when that failed.
 */

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { octetCounted } from '../core/syslog-message.js';
import { loadNative } from '../native/index.js';
import type { SyslogDestination } from './syslog-destination.js';

export interface SyslogTransport {
  send(messages: readonly string[]): Promise<void>;
  close(): void;
}

const CONNECT_TIMEOUT_MS = 10_000;

class UnixTransport implements SyslogTransport {
  constructor(readonly path: string) {}
  async send(messages: readonly string[]): Promise<void> {
    const native = loadNative();
    for (const m of messages) native.sendUnixDatagram(this.path, Buffer.from(m, 'utf8'));
  }
  close(): void {}
}

class UdpTransport implements SyslogTransport {
  #socket: UdpSocket | undefined;
  constructor(
    readonly host: string,
    readonly port: number,
  ) {}
  async send(messages: readonly string[]): Promise<void> {
    this.#socket ??= createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
    const socket = this.#socket;
    for (const m of messages)
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(m, 'utf8'), this.port, this.host, (e) => (e ? reject(e) : resolve())),
      );
  }
  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }
}

class StreamTransport implements SyslogTransport {
  #socket: Socket | undefined;
  #broken: Error | undefined;
  constructor(readonly destination: Extract<SyslogDestination, { kind: 'tcp' | 'tls' }>) {}

  #connect(): Promise<Socket> {
    const d = this.destination;
    return new Promise((resolve, reject) => {
      const socket =
        d.kind === 'tls'
          ? tlsConnect({
              host: d.host,
              port: d.port,
              ...(isIP(d.host) === 0 && { servername: d.host }),
              ...(d.ca !== undefined && { ca: readFileSync(d.ca) }),
              ...(d.cert !== undefined && { cert: readFileSync(d.cert) }),
              ...(d.key !== undefined && { key: readFileSync(d.key) }),
            })
          : netConnect({ host: d.host, port: d.port });
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)),
        CONNECT_TIMEOUT_MS,
      );
      socket.once(d.kind === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        // Whatever breaks it later: the next send reconnects.
        socket.on('error', (e) => (this.#broken = e));
        socket.on('close', () => (this.#broken ??= new Error('the syslog server closed the connection')));
        socket.on('data', () => {}); // a server has nothing to say; never let it fill our buffer
        resolve(socket);
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  async send(messages: readonly string[]): Promise<void> {
    if (this.#broken) this.close();
    if (!this.#socket) {
      this.#socket = await this.#connect();
      this.#broken = undefined;
    }
    const socket = this.#socket;
    const data = Buffer.concat(messages.map(octetCounted));
    await new Promise<void>((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve())));
    if (this.#broken) throw this.#broken;
  }

  close(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#broken = undefined;
    if (!socket) return;
    // A clean end (TLS close_notify, then FIN) after what was written; cut if it hangs.
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

export function openSyslogTransport(d: SyslogDestination): SyslogTransport {
  switch (d.kind) {
    case 'unix':
      return new UnixTransport(d.path);
    case 'udp':
      return new UdpTransport(d.host, d.port);
    case 'tcp':
    case 'tls':
      return new StreamTransport(d);
  }
}
