/**
 * Bearer tokens. The file holds one line per token, `role sha256-hex created label`; the
 * token itself is printed once by `svirt-audit token create` and never stored. The file
 * must not be readable by group or others. Comparisons are constant-time.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SvirtAuditError } from '../core/errors.js';

export type TokenRole = 'reader' | 'recorder';

interface TokenEntry {
  role: TokenRole;
  hash: Buffer;
  label: string;
}

/** The token file beside the database: `--db` alone finds it. */
export function defaultTokenPath(dbPath: string): string {
  return join(dirname(dbPath), 'tokens');
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Create a token, append its hash to the file (created 0600), return the token (shown once).
 * The file is opened without following a symbolic link: a link planted at the token path
 * must not make root append to (and chmod) whatever it points at.
 */
export function createToken(path: string, role: TokenRole, label = ''): string {
  const token = `sva_${role}_${randomBytes(24).toString('base64url')}`;
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      0o600,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      throw new SvirtAuditError(
        'BAD_INPUT',
        `token file ${path} is a symbolic link`,
        'remove the link; the token file must be a regular file of its own',
      );
    // A FIFO without a reader (opened non-blocking so it cannot hang us) or a device.
    if (code === 'ENXIO' || code === 'ENODEV')
      throw new SvirtAuditError(
        'BAD_INPUT',
        `token file ${path} is not a regular file`,
        'remove it or pick another path',
      );
    throw error;
  }
  try {
    if (!fstatSync(fd).isFile())
      throw new SvirtAuditError(
        'BAD_INPUT',
        `token file ${path} is not a regular file`,
        'remove it or pick another path',
      );
    fchmodSync(fd, 0o600);
    writeSync(fd, `${role} ${hash(token).toString('hex')} ${new Date().toISOString()} ${label.replace(/\s+/g, '_')}\n`);
  } finally {
    closeSync(fd);
  }
  return token;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export class TokenSet {
  readonly #entries: TokenEntry[];
  readonly path: string | null;

  private constructor(path: string | null, entries: TokenEntry[]) {
    this.path = path;
    this.#entries = entries;
  }

  static none(): TokenSet {
    return new TokenSet(null, []);
  }

  /**
   * Load the file, or TokenSet.none() when it does not exist. Throws BAD_INPUT when the
   * file is a link or not a regular file, is owned by another user than this process, is
   * readable by group or others, or a line cannot be read.
   */
  static load(path: string): TokenSet {
    if (!existsSync(path) && !isLink(path)) return TokenSet.none();
    const st = lstatSync(path);
    if (!st.isFile())
      throw new SvirtAuditError(
        'BAD_INPUT',
        `token file ${path} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}`,
        'the token file must be a regular file owned by the user serve runs as',
      );
    const me = process.geteuid?.();
    if (me !== undefined && st.uid !== me)
      throw new SvirtAuditError(
        'BAD_INPUT',
        `token file ${path} is owned by uid ${st.uid}, not by this server's user (uid ${me})`,
        `chown ${me} ${path}, or create the tokens as the user serve runs as`,
      );
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SvirtAuditError(
        'BAD_INPUT',
        `token file ${path} has mode ${mode.toString(8)}: group or others may read it`,
        `chmod 600 ${path}`,
      );
    }
    const entries: TokenEntry[] = [];
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '' || line.startsWith('#')) return;
        const [role, hex, , label] = line.split(' ');
        if ((role !== 'reader' && role !== 'recorder') || !/^[0-9a-f]{64}$/.test(hex ?? '')) {
          throw new SvirtAuditError('BAD_INPUT', `token file ${path} line ${i + 1} is not "role sha256 created label"`);
        }
        entries.push({ role, hash: Buffer.from(hex as string, 'hex'), label: label ?? '' });
      });
    return new TokenSet(path, entries);
  }

  /** True when a token file exists (even if empty): then every request needs a token. */
  get configured(): boolean {
    return this.path !== null;
  }

  /** The role of a presented token, or undefined. Every entry is compared, in constant time each. */
  roleOf(token: string): TokenRole | undefined {
    const h = hash(token);
    let found: TokenRole | undefined;
    for (const e of this.#entries) if (timingSafeEqual(e.hash, h)) found = e.role;
    return found;
  }
}
