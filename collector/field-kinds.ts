/**
 * How a field's text becomes a value: numbers, and which fields the kernel and user space
 * may hex-encode. The latter mirrors the AUPARSE_TYPE_ESCAPED, _ESCAPED_FILE, _ESCAPED_KEY
 * and _PROCTITLE entries of audit-userspace auparse/typetab.h (2023), with the AppArmor
 * ones that auparse adds WITH_APPARMOR.
 *
 * An escaped field is written `name="plain text"` when it is printable without spaces or
 * quotes, and as bare upper-case hex (`name=2F746D702F612062`) otherwise.
 */

// prettier-ignore
const ESCAPED_FIELDS = new Set([
  'path', 'comm', 'exe', 'file', 'name', 'watch', 'cwd', 'cmd', 'acct', 'dir',
  'key', 'vm', 'old-chardev', 'new-chardev', 'old-disk', 'new-disk', 'old-fs', 'new-fs', 'old-net', 'new-net',
  'device', 'cgroup', 'old-rng', 'new-rng', 'ocomm', 'grp', 'new_group', 'invalid_context', 'sw', 'root_dir',
  'proctitle', 'data',
  // AppArmor (auparse WITH_APPARMOR)
  'apparmor', 'operation', 'denied_mask', 'info', 'profile', 'requested_mask',
]);

export function isEscapedField(key: string): boolean {
  return ESCAPED_FIELDS.has(key);
}

/** True for an even-length, non-empty run of upper- or lower-case hex digits. */
export function looksHex(value: string): boolean {
  const n = value.length;
  if (n === 0 || (n & 1) === 1) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    const digit = c >= 0x30 && c <= 0x39;
    const upper = c >= 0x41 && c <= 0x46;
    const lower = c >= 0x61 && c <= 0x66;
    if (!digit && !upper && !lower) return false;
  }
  return true;
}

/** Decode hex to text (UTF-8; invalid sequences become U+FFFD rather than failing). */
export function decodeHex(value: string): string {
  return Buffer.from(value, 'hex').toString('utf8');
}

/** A field's value as a number: undefined when absent, empty or not a number. */
export function fieldNumber(value: string | null | undefined): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
