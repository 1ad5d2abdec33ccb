/**
 * Words for a POSIX shell. The fixes we suggest name paths from the audit log, and a file
 * can be called `x; rm -rf ~`: a command an admin copies must run on that file alone.
 */

/** `value` as one shell word: single-quoted, inner single quotes as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A literal path as a POSIX extended regular expression (what `semanage fcontext` takes). */
export function regexLiteral(path: string): string {
  return path.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}
