/** Sizes as users type them (2G, 500M, 64k, 1048576) and as we print them. Powers of 1024. */

import { SvirtAuditError } from './errors.js';

const UNIT: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parse a size into bytes. Throws BAD_INPUT. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * (UNIT[(m[2] as string).toLowerCase()] as number)) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new SvirtAuditError('BAD_INPUT', `"${text}" is not a size`, 'write a number and a unit: 500M, 2G, 1T');
  return bytes;
}

/** Bytes as a short human figure: 1.5 GiB, 300 MiB. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(value >= 100 ? 0 : 1)} ${units[i]}`;
}
