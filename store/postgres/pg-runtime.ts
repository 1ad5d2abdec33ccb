/**
 * Imported before `pg`. To tell Cloudflare Workers from Node, pg reads `navigator` and,
 * when Node has none (Node 20), touches the global `Response`, which loads Node's fetch
 * implementation, which compiles WebAssembly at load: under `--jitless --no-expose-wasm`
 * (how bin/svirt-audit runs Node on an enforcing SELinux host) that throws and the
 * process dies (test/lab caught it). Node 21 and later define `navigator` themselves; on
 * 20 we define what they define, so pg asks nothing more.
 */

if (typeof (globalThis as { navigator?: unknown }).navigator === 'undefined') {
  Object.defineProperty(globalThis, 'navigator', {
    value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` },
    configurable: true,
    writable: false,
    enumerable: false,
  });
}
