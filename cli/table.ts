/** Aligned plain-text tables for terminal output; control characters in cells are shown, not sent. */

import { type Cell, visible } from './terminal-text.js';

export function formatTable(headers: readonly string[], cellRows: readonly (readonly Cell[])[]): string {
  const rows = cellRows.map((r) =>
    r.map((c) =>
      typeof c === 'string' ? { shown: visible(c), style: undefined } : { shown: visible(c.text), style: c.style },
    ),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i]?.shown ?? '').length)));
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
