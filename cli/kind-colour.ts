/** Colour for kinds on a terminal (none when piped or NO_COLOR is set). */

import type { DenialKind } from '../core/denial-kind.js';
import type { CliIo } from './io.js';
import type { StyledCell } from './terminal-text.js';

const CODES: Record<DenialKind, string> = {
  'cross-vm': '1;31',
  'stale-label': '33',
  'unlabeled-target': '33',
  'shared-resource': '36',
  'apparmor-profile': '35',
  unattributed: '2',
  policy: '2',
};

/** `text` (our own words, e.g. the kind) in the kind's colour. Never give it text from the log. */
export function colourKind(io: CliIo, kind: DenialKind, text: string = kind): string {
  if (!io.stdout.isTTY || io.env.NO_COLOR) return text;
  return `\u001b[${CODES[kind]}m${text}\u001b[0m`;
}

/** A table cell of `text` coloured as `kind`, the colour added after padding. */
export function kindCell(io: CliIo, kind: DenialKind, text: string = kind): StyledCell {
  return { text, style: (padded) => colourKind(io, kind, padded) };
}
