/**
 * What bench/api and bench/slow-readers share: a copy of bench/query's 1,000,000-denial
 * store, a `serve` process following a log, and a writer appending 2,000 lines/s to it.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR } from './workloads.js';

export const CLI = resolve(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'svirt-audit.js');

export interface ServeBench {
  dir: string;
  db: string;
  log: string;
}

/** A fresh copy of the store in a directory of its own; exits the bench when the store was not built. */
export function copyQueryStore(prefix: string): ServeBench {
  const source = join(DATA_DIR, 'query-1m.db');
  if (!existsSync(source)) {
    console.log('skipped: run node dist/bench/query.js first (it builds the 1,000,000-denial store)');
    process.exit(0);
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = join(dir, 'audit.db');
  copyFileSync(source, db);
  const log = join(dir, 'audit.log');
  writeFileSync(log, '');
  return { dir, db, log };
}

/** `serve` on a free port following the log; resolves once it listens. */
export function startServe(bench: ServeBench): Promise<{ child: ChildProcess; url: string }> {
  // No retention: the bench measures answers over all 1,000,000 denials.
  return startListening([
    'serve',
    '--db',
    bench.db,
    '--listen',
    '127.0.0.1:0',
    '--follow',
    bench.log,
    '--log-level',
    'error',
    '--keep',
    '36500d',
    '--max-size',
    '1T',
  ]);
}

/** A `svirt-audit` command that serves HTTP; resolves with its URL once it listens. */
export async function startListening(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let url = '';
  while (!url) {
    const [chunk] = (await once(child.stderr as NodeJS.ReadableStream, 'data')) as [Buffer];
    err += chunk.toString();
    url = /listening on (http:\/\/[^\s;]+)/.exec(err)?.[1] ?? '';
  }
  return { child, url };
}

/** 2,000 lines/s into the log: 20 lines (10 two-line events) every 10 ms. Returns the timer to clear. */
export function appendAtRate(log: string): NodeJS.Timeout {
  let serial = 10_000_000;
  return setInterval(() => {
    let text = '';
    for (let i = 0; i < 10; i++) {
      serial++;
      const t = Date.now();
      const stamp = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}:${serial}`;
      text += `type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=9 comm="qemu-kvm" name="live" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:c7,c407 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\ntype=EOE msg=audit(${stamp}):\n`;
    }
    appendFileSync(log, text);
  }, 10);
}
