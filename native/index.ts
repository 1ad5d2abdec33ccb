/**
 * native/ owns the Node-API addon (native/src/addon.cc): libselinux and libapparmor opened
 * at run time, xattrs, execve, and datagrams to a unix socket (syslog). This is its typed face. If the addon was not built (no
 * compiler at install time), every call throws a NativeError with code ENOTBUILT.
 */

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeBinding {
  isSelinuxEnabled(): boolean;
  lgetfilecon(path: string): string;
  lsetfilecon(path: string, context: string): void;
  setexeccon(context: string): void;
  aaChangeOnexec(profile: string): void;
  aaGetcon(): { label: string; mode: string | null };
  /** The value, or null when the file has no such attribute. */
  getXattr(path: string, name: string): string | null;
  setXattr(path: string, name: string, value: string): void;
  /** False when there was nothing to remove. */
  removeXattr(path: string, name: string): boolean;
  /** One datagram to the unix datagram socket at `path` (syslog's /dev/log); EAGAIN when it is full. */
  sendUnixDatagram(path: string, message: Buffer): void;
  /** Replace this process with `file`; returns only by throwing. */
  execve(file: string, argv: string[], env: Record<string, string>): never;
}

/** A failed native call: `code` is the errno name, ENOTAVAILABLE (library missing) or ENOTBUILT. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  call: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return (
    e instanceof Error &&
    typeof (e as Partial<NativeError>).code === 'string' &&
    typeof (e as Partial<NativeError>).call === 'string'
  );
}

function addonPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'native', 'build', 'Release', 'svirt_native.node');
    const here = join(dir, 'build', 'Release', 'svirt_native.node');
    if (existsSync(here)) return here;
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  return undefined;
}

let cached: NativeBinding | undefined;

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
// Linux gives ENOTSUP and EOPNOTSUPP one number; callers test for both, and glibc names it so.
ERRNO_NAMES.set(constants.errno.EOPNOTSUPP, 'EOPNOTSUPP');

/** The addon with each thrown error's errno named in `code` (the addon sets only `errno`). */
function withErrnoNames(binding: NativeBinding): NativeBinding {
  const named = {} as Record<string, unknown>;
  for (const [key, fn] of Object.entries(binding) as [string, (...args: unknown[]) => unknown][]) {
    named[key] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (e) {
        const error = e as Partial<NativeError> | null;
        if (error && error.code === undefined && typeof error.errno === 'number')
          error.code = ERRNO_NAMES.get(error.errno) ?? 'EUNKNOWN';
        throw e;
      }
    };
  }
  return named as unknown as NativeBinding;
}

/** The addon, loaded once; a stand-in that throws ENOTBUILT for every call if it was not built. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const path = addonPath();
  if (path) {
    try {
      cached = withErrnoNames(createRequire(import.meta.url)(path) as NativeBinding);
      return cached;
    } catch {
      // fall through to the stand-in
    }
  }
  const missing = (call: string) => () => {
    const e = new Error(
      `${call}: the native addon is not built (npm rebuild svirt-audit, with python3, make and g++)`,
    ) as NativeError;
    e.code = 'ENOTBUILT';
    e.errno = 0;
    e.call = call;
    throw e;
  };
  cached = new Proxy({} as NativeBinding, { get: (_t, name) => missing(String(name)) });
  return cached;
}
