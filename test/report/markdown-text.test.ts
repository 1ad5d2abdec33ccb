import { describe, expect, it } from 'vitest';
import { mdCode, mdText } from '../../report/markdown-text.js';

describe('text from the audit log in a Markdown report', () => {
  it('mdText escapes what would become a link, HTML, emphasis or a table cell, and defuses bare URLs', () => {
    expect(mdText('[click](https://evil.example/x) <img src=x> *bold* _i_ a|b `code` ![i](y)')).toBe(
      '\\[click\\](https:\\/\\/evil.example/x) \\<img src=x\\> \\*bold\\* \\_i\\_ a\\|b \\`code\\` \\!\\[i\\](y)',
    );
    expect(mdText('see www.evil.example and WWW.X.Y')).toBe('see www\\.evil.example and WWW\\.X.Y');
    expect(mdText('two\nlines\r\n')).toBe('two lines ');
    expect(mdText(null)).toBe('');
    // Control characters are shown (a .md file is read raw in terminals too).
    expect(mdText('\u001b[2J')).toBe('\\\\x1b\\[2J');
  });

  it('mdCode puts the value in a code span whose fence no backtick run inside can close', () => {
    expect(mdCode('/srv/nfs/db1.img')).toBe('`/srv/nfs/db1.img`');
    expect(mdCode('a`b')).toBe('``a`b``');
    expect(mdCode('`start')).toBe('`` `start ``');
    expect(mdCode('x``y`')).toBe('``` x``y` ```');
    expect(mdCode('a|b', true)).toBe('`a\\|b`');
    expect(mdCode('a|b')).toBe('`a|b`');
    expect(mdCode('')).toBe('');
    expect(mdCode('a\u001bb\u0007')).toBe('`a\\x1bb\\x07`');
  });
});
