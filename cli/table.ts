/** Aligned plain-text tables for terminal output; control characters in cells are shown, not sent. */

import { type Cell, visible } from './terminal-text.js';

/**
 * The widest a cell is shown: one denial naming 100,000 permissions must not widen every
 * row of the table to half a megabyte. `explain ID` and `--json` show it whole.
 */
export const MAX_CELL_CHARS = 120;

function shown(text: string): string {
  const escaped = visible(text);
  return escaped.length <= MAX_CELL_CHARS ? escaped : `${escaped.slice(0, MAX_CELL_CHARS - 1)}…`;
}

export function formatTable(headers: readonly string[], cellRows: readonly (readonly Cell[])[]): string {
  const rows = cellRows.map((r) =>
    r.map((c) =>
      typeof c === 'string' ? { shown: shown(c), style: undefined } : { shown: shown(c.text), style: c.style },
    ),
  );
  // A loop, not Math.max(...rows): a spread of 200,000 rows overflows the stack.
  const widths = headers.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i]?.shown ?? '').length), h.length));
  const line = (cells: readonly { shown: string; style: ((s: string) => string) | undefined }[]) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c.shown : c.shown.padEnd(widths[i] as number);
        return c.style ? c.style(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return `${[line(headers.map((h) => ({ shown: h, style: undefined }))), ...rows.map(line)].join('\n')}\n`;
}
