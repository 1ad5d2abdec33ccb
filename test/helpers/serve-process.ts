/** `serve` as a child process on a free loopback port, for tests that need a real listening server. */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI, requireBuilt } from './built.js';

export interface ServeProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  base: string;
  stop(): Promise<void>;
}

/**
 * Starts `serve ARGS --listen LISTEN` (default: a free loopback port) and waits for its
 * "listening on" line (no sleeps).
 */
export async function startServe(args: string[], listen = '127.0.0.1:0'): Promise<ServeProcess> {
  requireBuilt();
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--listen', listen, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let base = '';
  while (!base) {
    const [chunk] = (await once(child.stderr as NodeJS.ReadableStream, 'data')) as [Buffer];
    err += chunk.toString();
    base = /listening on (http:\/\/[^\s;]+)/.exec(err)?.[1] ?? '';
    if (child.exitCode !== null) throw new Error(`serve exited: ${err}`);
  }
  return {
    child,
    base,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}
