/**
 * Names chosen by guests and local users, in every output a person reads: a VM named like
 * HTML, a process name that decodes to colour sequences, a file name that is a shell
 * command. Each must arrive as the characters it is.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable } from '../../cli/table.js';
import { visible } from '../../cli/terminal-text.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { cli } from '../helpers/cli-run.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
const db = join(scratch.dir, 'audit.db');
const UUID = '5e1f0c2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f';
const VM_NAME = '<img src=x onerror=alert(1)>';
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
// ESC [ 8 m hides what follows; ESC [ 1 ; 31 m makes it look like a cross-VM finding.
const COMM = '\u001b[8mhidden\u001b[1;31m';
const PATH = "/srv/a'b; rm -rf ~/x.img";

beforeAll(async () => {
  requireBuilt();
  await cli([
    'alloc',
    '--db',
    db,
    '--uuid',
    UUID,
    '--vm',
    VM_NAME,
    '--host',
    'hv1',
    '--label',
    'system_u:system_r:svirt_t:s0:c1,c2',
    '--started',
    '2025-01-01',
  ]);
  const log = join(scratch.dir, 'audit.log');
  writeFileSync(
    log,
    `node=hv1 type=AVC msg=audit(1763719200.100:7): avc:  denied  { read } for  pid=42 comm=${hex(COMM)} path=${hex(PATH)} dev="sda1" ino=9 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\n`,
  );
  expect((await cli(['ingest', '--db', db, log])).status).toBe(0);
});
afterAll(() => scratch.cleanup());

describe('untrusted text in what people read', () => {
  it('a terminal shows colour sequences from the log as \\xHH; only our own words are coloured, after escaping', () => {
    expect(visible('a\u001b[8mb\u001b[1;31mc')).toBe('a\\x1b[8mb\\x1b[1;31mc');
    const table = formatTable(['A', 'B'], [[{ text: 'cross-vm', style: (s) => `<${s}>` }, `x${COMM}`]]);
    expect(table).toBe(`A         B\n<cross-vm>  x\\x1b[8mhidden\\x1b[1;31m\n`);
  });

  it('denials, explain and summary print no escape sequence from the log, on a terminal too', async () => {
    for (const argv of [['denials'], ['explain', '1'], ['summary']]) {
      const piped = await cli([...argv, '--db', db]);
      expect(piped.status).toBe(0);
      expect(piped.stdout, argv.join(' ')).not.toMatch(/\u001b/);
      // On a terminal, the only escapes are our colours around the kind.
      const tty = await cli([...argv, '--db', db], { tty: true });
      const ours = /\u001b\[33munlabeled-target *\u001b\[0m/g;
      expect(tty.stdout.replace(ours, ''), argv.join(' ')).not.toMatch(/\u001b/);
      if (argv[0] === 'explain') expect(tty.stdout).toContain('\\x1b[8mhidden\\x1b[1;31m');
    }
  });

  it('fix commands quote the path for the shell (and the semanage pattern as a regular expression)', async () => {
    const r = await cli(['explain', '1', '--db', db, '--json']);
    const fix = (JSON.parse(r.stdout) as { explanation: { fix: string[] } }).explanation.fix.join('\n');
    expect(fix).toContain(`chcon -t svirt_image_t '/srv/a'\\''b; rm -rf ~/x.img'`);
    expect(fix).toContain(
      `semanage fcontext -a -t virt_image_t '/srv/a'\\''b; rm -rf ~(/.*)?' && restorecon -Rv '/srv/a'\\''b; rm -rf ~'`,
    );
  });

  it('a VM named like HTML is text in the Markdown report, and the report line on stderr shows no escape', async () => {
    const out = join(scratch.dir, 'report.md');
    const r = await cli(['report', '--db', db, '--vm', UUID, '--format', 'md', '--out', out]);
    expect(r.status).toBe(0);
    const md = readFileSync(out, 'utf8');
    expect(md).not.toMatch(/(^|[^\\])<img/m);
    expect(md).toContain('\\<img src=x onerror=alert(1)\\>');
    expect(md).not.toMatch(/\u001b/);
    const odd = '5e1f0c2d-3b4a-4c5d-8e6f-7a8b9c0d1e30';
    await cli([
      'alloc',
      '--db',
      db,
      '--uuid',
      odd,
      '--vm',
      'vm\u001b]0;pwned\u0007',
      '--host',
      'hv1',
      '--model',
      'none',
    ]);
    const line = await cli(['report', '--db', db, '--vm', odd, '--format', 'md', '--out', join(scratch.dir, 'odd.md')]);
    expect(line.stderr).toContain('vm\\x1b]0;pwned\\x07');
  });
});

describe('outsized and interrupted output', () => {
  it('a denial naming 100,000 permissions keeps table rows short; explain --json has them all', async () => {
    const big = join(scratch.dir, 'big.db');
    const log = join(scratch.dir, 'perms.log');
    const perms = Array.from({ length: 100_000 }, (_, i) => `p${i}`).join(' ');
    writeFileSync(
      log,
      `type=AVC msg=audit(1763719200.100:9): avc:  denied  { ${perms} } for  pid=42 comm="qemu-kvm" name="x" dev="sda1" ino=9 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\n` +
        `type=AVC msg=audit(1763719200.200:10): avc:  denied  { read } for  pid=42 comm="qemu-kvm" name="y" dev="sda1" ino=9 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:default_t:s0 tclass=file permissive=0\n`,
    );
    expect((await cli(['ingest', '--db', big, log])).status).toBe(0);
    const r = await cli(['denials', '--db', big]);
    expect(r.status).toBe(0);
    const longest = Math.max(...r.stdout.split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(400);
    expect(r.stdout).toMatch(/p0,p1,p2.*…/);
    const json = await cli(['explain', '1', '--db', big, '--json']);
    expect((JSON.parse(json.stdout) as { perms: string[] }).perms).toHaveLength(100_000);
  });

  it('denials | head: the closed pipe ends the command quietly, no EPIPE stack', async () => {
    const many = join(scratch.dir, 'many.db');
    const log = join(scratch.dir, 'many.log');
    writeFileSync(log, eventsText(1, 5000));
    expect((await cli(['ingest', '--db', many, log])).status).toBe(0);
    const r = spawnSync(
      'sh',
      ['-c', `"${process.execPath}" "${CLI}" denials --db "${many}" --json | head -c 100 >/dev/null`],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
  });
});
