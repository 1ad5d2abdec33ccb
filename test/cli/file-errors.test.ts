import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatError } from '../../cli/error-message.js';
import { requireBuilt } from '../helpers/built.js';
import { cli, cliProcess } from '../helpers/cli-run.js';
import { tempDir } from '../helpers/temp-store.js';

let scratch: { dir: string; cleanup(): void };
beforeAll(() => requireBuilt());
beforeEach(() => {
  scratch = tempDir();
});
afterEach(() => scratch.cleanup());

describe('files the user names that cannot be used', () => {
  it('ingest checks every file first: a missing one or a directory is exit 2 with what to do, nothing stored', async () => {
    const db = join(scratch.dir, 'audit.db');
    const dir = join(scratch.dir, 'logs');
    mkdirSync(dir);
    const missing = join(scratch.dir, 'audit.log.9');
    const r = await cli(['ingest', '--db', db, dir, missing]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `svirt-audit: cannot ingest: ${dir}: is a directory; ${missing}: no such file\n` +
        '  name audit log files (e.g. /var/log/audit/audit.log*), or - for stdin; nothing was stored\n',
    );
    expect(existsSync(db)).toBe(false);
  });

  it('ingest of a gzip file cut short stores what it can, says what happened and exits 2', async () => {
    const { gzipSync } = await import('node:zlib');
    const { eventsText } = await import('../helpers/synthetic-log.js');
    const db = join(scratch.dir, 'audit.db');
    const cut = join(scratch.dir, 'audit.log.1.gz');
    const gz = gzipSync(eventsText(1, 500));
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = await cli(['ingest', '--db', db, cut]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^ingested 1 file\(s\), .* [1-9]\d* new events/);
    expect(r.stderr).toMatch(
      new RegExp(`^svirt-audit ingest: ${cut}: the gzip data is cut short or corrupt after \\d+ uncompressed bytes`),
    );
  });

  it.each([['collect'], ['serve', '--listen', '127.0.0.1:0']])(
    '%s --follow of a directory is refused at once (exit 2), not retried forever',
    async (command, ...rest) => {
      const db = join(scratch.dir, 'audit.db');
      const r = await cli([command, '--db', db, '--follow', scratch.dir, ...rest]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(
        `svirt-audit: cannot follow ${scratch.dir}: it is a directory\n  name the log file in it, e.g. --follow ${scratch.dir}/audit.log\n`,
      );
    },
  );

  it.each([['collect'], ['serve', '--listen', '127.0.0.1:0']])(
    '%s --follow of a named pipe is refused at once (exit 2), not blocked in open()',
    async (command, ...rest) => {
      const fifo = join(scratch.dir, `audit-${command}.fifo`);
      execFileSync('mkfifo', [fifo]);
      const r = await cliProcess([command, '--db', join(scratch.dir, 'fifo.db'), '--follow', fifo, ...rest]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`cannot follow ${fifo}: it is not a regular file \\(a named pipe\\)`));
    },
  );

  it("serve --socket never deletes what is not a socket, nor a live server's socket", async () => {
    const db = join(scratch.dir, 'socket.db');
    const precious = join(scratch.dir, 'precious.db');
    writeFileSync(precious, 'the real database');
    const typo = await cliProcess(['serve', '--db', db, '--listen', '127.0.0.1:0', '--socket', precious]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/--socket .*precious.db exists and is not a socket; refusing to replace it/);
    expect(readFileSync(precious, 'utf8')).toBe('the real database');
    // A socket someone is listening on is not taken over either.
    const sock = join(scratch.dir, 'live.sock');
    const live = createServer().listen(sock);
    await once(live, 'listening');
    try {
      const busy = await cliProcess(['serve', '--db', db, '--listen', '127.0.0.1:0', '--socket', sock]);
      expect(busy.status).toBe(2);
      expect(busy.stderr).toMatch(/is in use by a running server/);
    } finally {
      live.close();
    }
  });

  it('report verify of a missing file says which and exits 2, not "this is a bug"', async () => {
    const missing = join(scratch.dir, 'web1.json');
    const r = await cli(['report', 'verify', missing]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `svirt-audit: cannot open ${missing}: no such file or directory\n  check the path and its permissions\n`,
    );
  });

  it('file-system errors without a path stay unexpected errors (exit 1)', () => {
    const noPath = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    expect(formatError(noPath)).toMatchObject({ status: 1 });
    expect(formatError(noPath).message).toMatch(/this is a bug/);
  });
});
