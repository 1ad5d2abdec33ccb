import { describe, expect, it } from 'vitest';
import { csvLine } from '../../core/denial-json.js';

describe('csvLine', () => {
  it('quotes as RFC 4180: commas, quotes and line breaks', () => {
    expect(csvLine(['plain', 'a,b', 'say "hi"', 'two\nlines', ''])).toBe('plain,"a,b","say ""hi""","two\nlines",\n');
  });

  it('a cell a spreadsheet would run as a formula arrives as text (a leading quote)', () => {
    expect(csvLine(['=HYPERLINK("http://x","y")', '+1+1', '-bash', '@SUM(A1)', '\tx', '/usr/bin/qemu', 'c1,c2'])).toBe(
      `"'=HYPERLINK(""http://x"",""y"")",'+1+1,'-bash,'@SUM(A1),'\tx,/usr/bin/qemu,"c1,c2"\n`,
    );
  });
});
