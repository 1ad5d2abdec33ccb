/** Colour for kinds on a terminal (none when piped or NO_COLOR is set). */

import type { DenialKind } from '../core/denial-kind.js';
import type { CliIo } from './io.js';

const CODES: Record<DenialKind, string> = {
  'cross-vm': '1;31',
  'stale-label': '33',
  'unlabeled-target': '33',
  'shared-resource': '36',
  'apparmor-profile': '35',
  unattributed: '2',
  policy: '2',
};

export function colourKind(io: CliIo, kind: DenialKind, text: string = kind): string {
  if (!io.stdout.isTTY || io.env.NO_COLOR) return text;
  return `\u001b[${CODES[kind]}m${text}\u001b[0m`;
}
