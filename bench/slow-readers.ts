/**
 * bench/slow-readers: what readers that do not read cost everyone else. A `serve` process
 * holds bench/query's 1,000,000 denials while its collector follows a log receiving 2,000
 * lines/s. `/v1/vms` is timed (one request every 20 ms) and the server's RSS sampled, first
 * with no other client (the peer: the same server, same run), then while four clients ask
 * for the whole denial stream from Last-Event-ID 0 and a fifth for the HTML report of a
 * VM (about 2,000 denials), none of them reading a byte.
 *
 * Target: /v1/vms p99 under 50 ms and RSS under 400 MB with the slow readers.
 *
 * Run: npm run build && node dist/bench/query.js (once) && node dist/bench/slow-readers.js [seconds=20]
 */

import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatRow, percentile, systemLine } from './system-line.js';
import { appendAtRate, CLI, copyQueryStore, startServe } from './serve-under-load.js';

const seconds = Number(process.argv[2] ?? 20);
const bench = copyQueryStore('svirt-bench-slow-');
const { dir, db } = bench;
// One reader token per client: the server limits open streams per client (its token).
const token = () =>
  execFileSync(process.execPath, [CLI, 'token', 'create', '--db', db, '--role', 'reader'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();
const timer = token();
const slowTokens = [1, 2, 3, 4, 5].map(token);
const auth = { authorization: `Bearer ${timer}` };

const { child: server, url: base } = await startServe(bench);
const port = Number(new URL(base).port);
const writer = appendAtRate(bench.log);

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1]) / 1024;

/** /v1/vms timed every 20 ms for `seconds`, and the peak RSS meanwhile. */
async function measure(): Promise<{ p50: number; p99: number; peakRss: number; n: number }> {
  const times: number[] = [];
  let peakRss = rssMb();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/vms`, { headers: auth });
    await res.arrayBuffer();
    times.push(performance.now() - t0);
    peakRss = Math.max(peakRss, rssMb());
    await sleep(20);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), peakRss, n: times.length };
}

/** A GET whose answer is never read, with a token of its own (one client each). */
async function notReading(clientToken: string, path: string, headers = ''): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${clientToken}\r\n${headers}\r\n`);
  socket.pause();
  socket.on('error', () => undefined); // the server resets it when it drops it
  return socket;
}

await sleep(3000); // the collector and the summary cache settle
const alone = await measure();
const [vm] = (await (await fetch(`${base}/v1/vms`, { headers: auth })).json()) as { uuid: string }[];
const slow = await Promise.all([
  ...slowTokens.slice(0, 4).map((t) => notReading(t, '/v1/stream', 'Last-Event-ID: 0\r\n')),
  notReading(slowTokens[4] as string, `/v1/reports/${vm?.uuid}?format=html`),
]);
const withSlow = await measure();
const metrics = await (await fetch(`${base}/metrics`, { headers: auth })).text();
const dropped = /svirt_audit_slow_clients_dropped_total (\d+)/.exec(metrics)?.[1] ?? '?';
const health = (await (await fetch(`${base}/healthz`, { headers: auth })).json()) as {
  collector: { lagSeconds: number };
};
for (const s of slow) s.destroy();
clearInterval(writer);
server.kill('SIGTERM');
await once(server, 'exit');
rmSync(dir, { recursive: true, force: true });

const widths = [46, 8, 8, 12, 10];
console.log(formatRow(['GET /v1/vms, one request every 20 ms', 'p50 ms', 'p99 ms', 'peak RSS MB', 'requests'], widths));
for (const [title, m] of [
  ['alone (peer: same server, same run)', alone],
  ['4 streams from id 0 + 1 HTML report, unread', withSlow],
] as const) {
  console.log(formatRow([title, m.p50.toFixed(1), m.p99.toFixed(1), m.peakRss.toFixed(0), String(m.n)], widths));
}
console.log(
  `ratio p99 with/alone: ${(withSlow.p99 / alone.p99).toFixed(2)}; slow clients dropped: ${dropped}; collector lag at the end ${health.collector.lagSeconds.toFixed(1)} s`,
);
console.log('target: p99 < 50 ms and RSS < 400 MB with the slow readers');
console.log(systemLine());
