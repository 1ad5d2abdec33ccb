/** `svirt-audit demo`: a realistic scenario in a fresh database, then the summary and what to try next. */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingestFiles } from '../../collector/backfill.js';
import { SvirtAuditError } from '../../core/errors.js';
import { buildDemo, DEMO_HOST } from '../../demo/demo-scenario.js';
import { listAllocations } from '../../store/allocations.js';
import { openStore } from '../../store/store.js';
import type { CommonOptions } from '../command-context.js';
import type { CliIo } from '../io.js';
import { run as summaryRun } from './summary.js';

export async function run(options: CommonOptions, _args: string[], io: CliIo): Promise<number> {
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
      '',
    ].join('\n'),
  );
  return 0;
}
