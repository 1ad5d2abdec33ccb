/**
 * A real HTTP receiver on loopback for the alert tests: it records what it accepted, can
 * refuse its next requests with a status, hang without answering, go down (its port
 * closed) and come back on the same port.
 */

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export class AlertReceiver {
  /** Requests answered 2xx, in order. */
  readonly accepted: ReceivedRequest[] = [];
  /** Requests refused (a status of failNext). */
  refused = 0;
  /** Called with each request before it is answered. */
  onRequest: (() => void) | undefined;
  #failures: number[] = [];
  #hang = false;
  #server: Server | undefined;
  #port = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        this.onRequest?.();
        if (this.#hang) return; // never answers: the sender's timeout must end it
        const status = this.#failures.shift();
        if (status !== undefined) {
          this.refused++;
          res.writeHead(status, { 'content-type': 'text/plain' }).end(`refused with ${status}`);
          return;
        }
        this.accepted.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as unknown });
        res.writeHead(200).end('{}');
        this.#waiters = this.#waiters.filter((w) => {
          if (this.accepted.length < w.n) return true;
          w.resolve();
          return false;
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Refuse the next requests, one status each. */
  failNext(...statuses: number[]): void {
    this.#failures.push(...statuses);
  }

  hang(on: boolean): void {
    this.#hang = on;
  }

  /** Down: the port refuses connections until start() again. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `n` requests in all were accepted. */
  accepting(n: number): Promise<void> {
    if (this.accepted.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}
