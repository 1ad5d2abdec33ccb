/**
 * `demo --serve`: the demo, then the dashboard and the API over its database on loopback,
 * the URL printed, until SIGTERM (what a newcomer opens in the first minute).
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, requireBuilt } from '../helpers/built.js';

describe('demo --serve', () => {
  it('prints the dashboard URL; the page and the demo VMs are served there; SIGTERM stops it', async () => {
    requireBuilt();
    const child = spawn(process.execPath, [CLI, 'demo', '--serve', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let url = '';
    while (!url) {
      const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
      out += chunk.toString();
      url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1] ?? '';
    }
    try {
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="app">/);
      const vms = (await (await fetch(`${url}v1/vms`)).json()) as { name: string }[];
      expect(vms.map((v) => v.name).sort()).toEqual(['build', 'db1', 'desk', 'mail', 'web1', 'web1-old', 'web2']);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
      const db = /database: (\S+)/.exec(out)?.[1];
      if (db) rmSync(dirname(db), { recursive: true, force: true });
    }
  });
});
