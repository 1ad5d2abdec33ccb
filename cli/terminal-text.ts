/**
 * Text from the audit log on a terminal. The kernel hex-encodes a comm, path or exe that
 * holds control characters, and the parser decodes it: printed as is, an ESC sequence in
 * a process name could retitle the terminal, rewrite what is on screen, hide text or
 * colour a line to look like another. Every control character is shown as `\xHH`; our own
 * colours are added to our own words only, after the escaping (see StyledCell).
 */

import { showControlCharacters } from '../core/control-characters.js';

/** Text from the log as a terminal shows it: the one escaping every output uses. */
export const visible = showControlCharacters;

/** A table cell of our own words and the colour to give it once it is padded. */
export interface StyledCell {
  readonly text: string;
  readonly style: (padded: string) => string;
}

export type Cell = string | StyledCell;
