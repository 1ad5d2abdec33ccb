/**
 * Text from the audit log inside a Markdown report. Process names, executables and file
 * names are chosen by whoever was denied, and a report is pasted into tickets that render
 * Markdown: `[click](https://…)`, `<img …>` or a bare URL in a file name must arrive as
 * the characters they are, not as a link, HTML or emphasis.
 */

import { showControlCharacters } from '../core/control-characters.js';

/** Control characters (a Markdown file is read raw in terminals too) as `\xHH`; line breaks as spaces. */
function controlsShown(text: string): string {
  return showControlCharacters(text.replace(/[\r\n]+/g, ' '));
}

/** Prose: Markdown's active punctuation backslash-escaped, URL schemes and `www.` defused. */
export function mdText(value: string | number | null | undefined): string {
  return controlsShown(String(value ?? ''))
    .replace(/[\\`*_[\]<>|!~#]/g, (c) => `\\${c}`)
    .replace(/:\/\//g, ':\\/\\/')
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\\.`);
}

/**
 * A value shown as code: nothing inside a code span is Markdown. The fence is longer than
 * any run of backticks in the value. In a table cell a `|` must still be escaped (GFM
 * splits cells before it reads code spans).
 */
export function mdCode(value: string | number | null | undefined, inTable = false): string {
  const text = controlsShown(String(value ?? ''));
  if (text === '') return '';
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  const body = inTable ? text.replace(/\|/g, '\\|') : text;
  return `${fence}${pad}${body}${pad}${fence}`;
}
