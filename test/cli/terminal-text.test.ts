import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { visible } from '../../cli/terminal-text.js';
import { cli } from '../helpers/cli-run.js';
import { tempDir } from '../helpers/temp-store.js';

let scratch: { dir: string; cleanup(): void };
beforeEach(() => {
  scratch = tempDir();
});
afterEach(() => scratch.cleanup());

describe('text from the log on a terminal', () => {
  it('visible shows every control character as \\xHH, colour (SGR) sequences too', () => {
    expect(visible('a\u001b]0;pwned\u0007b\u001b[2Jc\nd\te\u009b')).toBe(
      'a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x0ad\\x09e\\x9b',
    );
    expect(visible('\u001b[1;31mcross-vm\u001b[0m')).toBe('\\x1b[1;31mcross-vm\\x1b[0m');
  });

  it('a process name that decodes to terminal escapes is shown, not sent, by denials and explain', async () => {
    // The kernel hex-encodes a comm with control characters; this one is ESC ] 0 ; pwned BEL ESC [ 2 J.
    const comm = '1B5D303B70776E6564071B5B324A';
    const log = join(scratch.dir, 'audit.log');
    writeFileSync(
      log,
      `type=AVC msg=audit(1763719200.100:7): avc:  denied  { read } for  pid=42 comm=${comm} name=${comm} dev="sda1" ino=9 scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:user_home_t:s0 tclass=file permissive=0\n`,
    );
    const db = join(scratch.dir, 'audit.db');
    expect((await cli(['ingest', '--db', db, log])).status).toBe(0);
    for (const argv of [['denials'], ['explain', '1']]) {
      const r = await cli([...argv, '--db', db]);
      expect(r.status).toBe(0);
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      expect(r.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2J');
    }
    // As JSON the name is the decoded text, escaped by JSON itself.
    const json = await cli(['denials', '--db', db, '--json']);
    expect(JSON.parse(json.stdout)[0].source.comm).toBe('\u001b]0;pwned\u0007\u001b[2J');
  });
});
