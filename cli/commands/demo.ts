/** `svirt-audit demo`: a realistic scenario in a fresh database, then the summary and what to try next. */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestFiles } from '../../collector/backfill.js';
import { SvirtAuditError } from '../../core/errors.js';
import { buildDemo, DEMO_HOST } from '../../demo/demo-scenario.js';
import { startServer } from '../../api/server.js';
import { defaultTokenPath } from '../../api/tokens.js';
import { listAllocations } from '../../store/allocations.js';
import { openStore } from '../../store/store.js';
import type { CommonOptions } from '../command-context.js';
import type { CliIo } from '../io.js';
import { untilStopSignal } from '../stop-signal.js';
import { run as summaryRun } from './summary.js';

interface DemoOptions extends CommonOptions {
  /** --serve: true (the default address) or host:port. */
  serve?: string | true;
}

export async function run(options: DemoOptions, _args: string[], io: CliIo): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'svirt-audit-demo-'));
  const db = options.db ?? join(dir, 'audit.db');
  const store = openStore(db);
  try {
    if (listAllocations(store, { limit: 1 }).length > 0) {
      throw new SvirtAuditError(
        'BAD_INPUT',
        `${db} already holds records`,
        'run the demo without --db (it makes a fresh database) or with a new path',
      );
    }
    const log = buildDemo(store, dir);
    const summary = await ingestFiles(store, [log], { localHost: DEMO_HOST });
    io.stdout.write(
      `demo: 6 VMs started and stopped through the libvirt hook code, one through libvirt's own audit records;\n` +
        `      ${summary.writer.stored} audit events ingested from ${log}\n      database: ${db}\n`,
    );
  } finally {
    store.close();
  }
  await summaryRun({ db }, [], io);
  io.stdout.write(
    [
      '',
      'try next:',
      `  svirt-audit denials --db ${db}`,
      `  svirt-audit denials --db ${db} --kind cross-vm --json`,
      `  svirt-audit explain --db ${db} 1`,
      `  svirt-audit allocations --db ${db}`,
      `  svirt-audit serve --db ${db} --no-follow    # the dashboard at http://127.0.0.1:8785/`,
      '',
    ].join('\n'),
  );
  if (options.serve !== undefined) await serveDemo(db, options.serve === true ? '127.0.0.1:8785' : options.serve, io);
  return 0;
}

/** The dashboard and the API over the demo's database, on loopback, until Ctrl-C. */
async function serveDemo(db: string, listen: string, io: CliIo): Promise<void> {
  const server = await startServer({
    dbPath: db,
    listen,
    follow: null,
    tokensPath: defaultTokenPath(db),
    allowRemote: false,
    localHost: DEMO_HOST,
    version: io.version,
    logLevel: 'warn',
    alerts: null,
  });
  io.stdout.write(`\ndashboard: http://${server.address}/   (Ctrl-C stops it)\n`);
  await untilStopSignal();
  await server.close();
}
