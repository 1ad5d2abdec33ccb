/**
 * Text from the audit log on a terminal. The kernel hex-encodes a comm, path or exe that
 * holds control characters, and the parser decodes it: printed as is, an ESC sequence in
 * a process name could retitle the terminal, rewrite what is on screen or write to the
 * clipboard. Every control character is shown as `\xHH` instead, except the colour
 * (SGR) sequences our own output uses, which can do none of that.
 */

import { CONTROL_CHARACTERS, hexEscape } from '../core/control-characters.js';

const UNSAFE = new RegExp(`\u001b\\[[0-9;]*m|${CONTROL_CHARACTERS.source}`, 'g');

export function visible(text: string): string {
  return text.replace(UNSAFE, (m) => (m.length > 1 ? m : hexEscape(m)));
}
