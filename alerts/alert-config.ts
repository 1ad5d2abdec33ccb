/**
 * The alert config file (`serve --alerts FILE`, default /etc/svirt-audit/alerts.json when
 * it exists). It names where alerts go, and receiver URLs and headers are secrets (a Slack
 * webhook URL is its own credential): like the token file, it must be a regular file owned
 * by the user serve runs as (or root) and not readable or writable by group or others. A
 * file that breaks a rule or does not parse stops serve with the reason: a typo must not
 * silently turn alerts off.
 */

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { type AlertRules, DEFAULT_ALERT_RULES, parseAlertRules } from '../core/alert-rules.js';
import { SvirtAuditError } from '../core/errors.js';

export const DEFAULT_ALERT_CONFIG = '/etc/svirt-audit/alerts.json';
const MAX_CONFIG_BYTES = 1 << 20;

export function loadAlertRules(path: string | null): AlertRules {
  if (path === null) return DEFAULT_ALERT_RULES;
  let fd: number;
  try {
    // Non-blocking: a FIFO planted at the path must not hang serve's start.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `alert config ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      'check the path given to --alerts',
    );
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile())
      throw new SvirtAuditError('BAD_INPUT', `alert config ${path} is not a regular file`, 'name a JSON file');
    const me = process.geteuid?.();
    if (me !== undefined && st.uid !== me && st.uid !== 0)
      throw new SvirtAuditError(
        'BAD_INPUT',
        `alert config ${path} is owned by uid ${st.uid}, not by root or this server's user (uid ${me})`,
        `chown ${me} ${path}`,
      );
    if ((st.mode & 0o077) !== 0)
      throw new SvirtAuditError(
        'BAD_INPUT',
        `alert config ${path} has mode ${(st.mode & 0o777).toString(8)}: group or others may read or change it, and its receiver URLs and headers are secrets`,
        `chmod 600 ${path}`,
      );
    if (st.size > MAX_CONFIG_BYTES)
      throw new SvirtAuditError('BAD_INPUT', `alert config ${path} is larger than 1 MiB`, 'is this the right file?');
    const buffer = Buffer.alloc(st.size);
    const n = readSync(fd, buffer, 0, st.size, 0);
    text = buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `alert config ${path} is not JSON: ${(error as Error).message}`,
      'see docs/alerts.md for an example',
    );
  }
  try {
    return parseAlertRules(json);
  } catch (error) {
    if (error instanceof SvirtAuditError)
      throw new SvirtAuditError(error.code, `${path}: ${error.message}`, error.hint);
    throw error;
  }
}
