/**
 * The token file as an attacker or a careless admin leaves it: a symbolic link planted at
 * its path, a file of another user, a file deleted before SIGHUP. Each fails closed.
 */

import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../api/server.js';
import { createToken, TokenSet } from '../../api/tokens.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
afterAll(() => scratch.cleanup());
const asRoot = process.getuid?.() === 0;
if (!asRoot) console.log('skipped: a token file owned by another user: needs root to chown it');

describe('token files', () => {
  it('token create refuses a symbolic link at the token path and leaves its target alone', () => {
    const victim = join(scratch.dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    const link = join(scratch.dir, 'tokens-link');
    symlinkSync(victim, link);
    expect(() => createToken(link, 'reader')).toThrow(/is a symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(statSync(victim).mode & 0o777).toBe(0o644);
    expect(() => TokenSet.load(link)).toThrow(/is a symbolic link/);
  });

  it('token create refuses a named pipe at the token path without hanging on it', () => {
    const fifo = join(scratch.dir, 'tokens-fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => createToken(fifo, 'reader')).toThrow(/is not a regular file/);
    expect(() => TokenSet.load(fifo)).toThrow(/is not a regular file/);
  });

  it.runIf(asRoot)('a token file owned by another user is refused', () => {
    const path = join(scratch.dir, 'tokens-other');
    createToken(path, 'reader');
    chownSync(path, 12345, 12345);
    expect(() => TokenSet.load(path)).toThrow(/owned by uid 12345, not by this server's user \(uid 0\)/);
  });

  it('deleting the token file and reloading (SIGHUP) keeps the tokens: authentication stays on', async () => {
    const db = join(scratch.dir, 'serve.db');
    const tokens = join(scratch.dir, 'tokens');
    const reader = createToken(tokens, 'reader');
    const server = await startServer({
      dbPath: db,
      listen: '127.0.0.1:0',
      follow: null,
      tokensPath: tokens,
      allowRemote: false,
      localHost: 'hv1',
      version: 'test',
      readThreads: 0,
      logLevel: 'silent',
    });
    try {
      const get = (headers: Record<string, string> = {}) =>
        fetch(`http://${server.address}/v1/vms`, { headers }).then((r) => r.status);
      expect(await get()).toBe(401);
      unlinkSync(tokens);
      expect(existsSync(tokens)).toBe(false);
      server.reloadTokens();
      expect(await get()).toBe(401);
      expect(await get({ authorization: `Bearer ${reader}` })).toBe(200);
    } finally {
      await server.close();
    }
  });
});
