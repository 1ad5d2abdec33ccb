import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isNativeError, loadNative } from '../../native/index.js';
import { tempDir } from '../helpers/temp-store.js';

const native = loadNative();
const built = (() => {
  try {
    native.getXattr('/', 'user.probe');
    return true;
  } catch (e) {
    return !(isNativeError(e) && e.code === 'ENOTBUILT');
  }
})();
if (!built) console.log('skipped: the native addon is not built (npm ci builds it with python3, make and g++)');
const scratch = tempDir();
afterAll(() => scratch.cleanup());

describe.runIf(built)('native addon', () => {
  it('sends a datagram to a unix socket only where one listens, and says why not', () => {
    const missing = join(scratch.dir, 'no.sock');
    expect(() => native.sendUnixDatagram(missing, Buffer.from('<13>1 - - - - - - x'))).toThrow(
      expect.objectContaining({ code: 'ENOENT', call: 'sendto' }),
    );
    const plain = join(scratch.dir, 'plain');
    writeFileSync(plain, '');
    expect(() => native.sendUnixDatagram(plain, Buffer.from('x'))).toThrow(
      expect.objectContaining({ code: 'ECONNREFUSED' }),
    );
    expect(() => native.sendUnixDatagram(`/${'x'.repeat(200)}`, Buffer.from('x'))).toThrow(RangeError);
    expect(() => native.sendUnixDatagram(missing, 'x' as unknown as Buffer)).toThrow(TypeError);
  });

  it('sets, reads and removes xattrs, security.selinux and trusted.* included', () => {
    const f = join(scratch.dir, 'disk.img');
    writeFileSync(f, '');
    native.setXattr(f, 'security.selinux', 'system_u:object_r:svirt_image_t:s0:c1,c2');
    expect(native.getXattr(f, 'security.selinux')).toBe('system_u:object_r:svirt_image_t:s0:c1,c2');
    expect(
      execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', 'security.selinux', f])
        .toString()
        .replace(/\0$/, ''),
    ).toBe('system_u:object_r:svirt_image_t:s0:c1,c2');
    native.setXattr(f, 'trusted.svirt-audit.label', 'system_u:object_r:user_home_t:s0');
    expect(native.removeXattr(f, 'trusted.svirt-audit.label')).toBe(true);
    expect(native.removeXattr(f, 'trusted.svirt-audit.label')).toBe(false);
    expect(native.getXattr(f, 'trusted.svirt-audit.label')).toBeNull();
  });

  it('errors carry the errno name, the errno and the call', () => {
    try {
      native.getXattr(join(scratch.dir, 'missing'), 'user.x');
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'ENOENT', errno: 2, call: 'lgetxattr' });
    }
  });

  it.each([
    [
      'a number for a path',
      () => (native.getXattr as unknown as (a: number, b: string) => void)(5, 'user.x'),
      TypeError,
      /path must be a string/,
    ],
    ['no arguments', () => (native.setexeccon as unknown as () => void)(), TypeError, /context must be a string/],
    ['an embedded NUL', () => native.setXattr('/tmp/x', 'user.x', 'a\0b'), TypeError, /NUL/],
    ['an overlong context', () => native.setexeccon('x'.repeat(5000)), RangeError, /longer than 4096/],
    ['an overlong path', () => native.lgetfilecon(`/${'a'.repeat(5000)}`), RangeError, /longer than/],
    [
      'argv that is not an array',
      () => (native.execve as unknown as (a: string, b: string, c: object) => void)('/bin/true', 'x', {}),
      TypeError,
      /execve/,
    ],
    ['argv with a NUL', () => native.execve('/bin/true', ['a\0b'], {}), TypeError, /NUL/],
  ])('refuses %s without crashing', (_name, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });

  it('a library that is absent gives ENOTAVAILABLE, not a crash (child process without libselinux/libapparmor)', () => {
    const script = `import('${join(process.cwd(), 'dist', 'native', 'index.js')}').then(({ loadNative }) => {
      const n = loadNative(); const out = [];
      for (const f of ['isSelinuxEnabled', 'aaGetcon']) { try { n[f](); out.push('ok') } catch (e) { out.push(e.code + ':' + e.call) } }
      console.log(out.join(' '));
    })`;
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, SVIRT_AUDIT_NATIVE_DISABLE: 'selinux,apparmor' },
    })
      .toString()
      .trim();
    expect(out).toBe('ENOTAVAILABLE:is_selinux_enabled ENOTAVAILABLE:aa_getcon');
  });
});
