/**
 * bench/api: requests/s and p99 latency of GET /v1/vms/:ref/summary (just after the first
 * start, in steady state, and after a restart) and GET /v1/denials?vm=…&since=24h under autocannon
 * (50 connections, 20 s each), against a `serve` process holding 1,000,000 denials
 * (bench/query's store, copied) while its collector follows a log receiving 2,000 lines/s. Target: p99 under 50 ms, no errors,
 * ingest keeps up (lag stays bounded; read from /healthz at the end).
 *
 * Run: npm run build && node dist/bench/query.js (once, builds the store) && node dist/bench/api.js [seconds=20]
 */

import { once } from 'node:events';
import { rmSync } from 'node:fs';
import autocannon from 'autocannon';
import { formatRow, systemLine } from './system-line.js';
import { appendAtRate, copyQueryStore, startServe } from './serve-under-load.js';

const seconds = Number(process.argv[2] ?? 20);
const bench = copyQueryStore('svirt-bench-api-');
const { dir } = bench;
let { child: server, url: base } = await startServe(bench);
const writer = appendAtRate(bench.log);

const uuid = (v: number) => `00000000-0000-4000-8000-${String(v).padStart(12, '0')}`;
async function load(title: string, path: (i: number) => string) {
  let i = 0;
  const result = await autocannon({
    url: base,
    connections: 50,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(i++) }) }],
  });
  return { title, result };
}

// The first run starts as the server does the first time (its summary cache still
// warming); the second is the steady state of a server that has been up a while; the last
// follows a restart, which starts with the summaries the stopped server saved.
const runs = [
  await load('GET /v1/vms/:ref/summary (first start)', (i) => `/v1/vms/${uuid(i % 500)}/summary`),
  await load('GET /v1/vms/:ref/summary (steady)', (i) => `/v1/vms/${uuid(i % 500)}/summary`),
  await load('GET /v1/denials?vm=…&since=24h', (i) => `/v1/denials?vm=${uuid(i % 500)}&since=24h`),
];
server.kill('SIGTERM');
await once(server, 'exit');
({ child: server, url: base } = await startServe(bench));
runs.push(await load('GET /v1/vms/:ref/summary (restart)', (i) => `/v1/vms/${uuid(i % 500)}/summary`));
clearInterval(writer);
const health = (await (await fetch(`${base}/healthz`)).json()) as {
  collector: { lagBytes: number; lagSeconds: number; eventsStored: number };
};
server.kill('SIGTERM');
await once(server, 'exit');
rmSync(dir, { recursive: true, force: true });

const widths = [40, 10, 10, 10, 10];
console.log(formatRow(['route (50 connections)', 'req/s', 'p50 ms', 'p99 ms', 'errors'], widths));
for (const { title, result } of runs) {
  console.log(
    formatRow(
      [
        title,
        result.requests.average.toFixed(0),
        String(result.latency.p50),
        String(result.latency.p99),
        String(result.errors + result.non2xx),
      ],
      widths,
    ),
  );
}
console.log(
  `collector since the restart: ${health.collector.eventsStored} events stored at 2,000 lines/s; lag at the end ${health.collector.lagBytes} bytes, ${health.collector.lagSeconds.toFixed(1)} s`,
);
console.log('target: p99 < 50 ms, no errors, lag bounded (no peer: ausearch has no server)');
console.log(systemLine());
