/**
 * Telling a fleet URL from a file path, and naming it without its password. Kept apart
 * from the client (store/postgres/connect.ts): commands that only need to tell must not
 * load `pg` (every command runs without the JIT on an enforcing SELinux host).
 */

export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//.test(text);
}

/** The URL without its password, to name the server in messages. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the PostgreSQL URL';
  }
}
