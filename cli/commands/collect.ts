/** `svirt-audit collect`: follow the audit log (default) or read auditd's dispatcher on stdin. */

import { existsSync } from 'node:fs';
import { runAudispSource } from '../../collector/audisp.js';
import { AuditFileFollower } from '../../collector/follow.js';
import { SvirtAuditError } from '../../core/errors.js';
import { type CommonOptions, localHost, openCommandStore } from '../command-context.js';
import type { CliIo } from '../io.js';
import { untilStopSignal } from '../stop-signal.js';

interface CollectOptions extends CommonOptions {
  follow?: string;
  audisp?: boolean;
}

export const DEFAULT_AUDIT_LOG = '/var/log/audit/audit.log';

export async function run(options: CollectOptions, _args: string[], io: CliIo): Promise<number> {
  const warn = (message: string) => io.stderr.write(`svirt-audit collect: ${message}\n`);
  if (options.audisp) {
    let store = openCommandStore(options, io, { durability: 'normal' });
    // auditd sends SIGHUP to plugins when its configuration changes: reopen the database.
    const onHup = () => {
      store.close();
      store = openCommandStore(options, io, { durability: 'normal' });
      warn('SIGHUP: reopened the database');
    };
    process.on('SIGHUP', onHup);
    try {
      const counts = await runAudispSource(store, io.stdin, { localHost: localHost(options), onWarning: warn });
      warn(`end of input: ${counts.stored} events stored, ${counts.denials} denials`);
      return 0;
    } finally {
      process.off('SIGHUP', onHup);
      store.close();
    }
  }

  const path = options.follow ?? DEFAULT_AUDIT_LOG;
  if (options.follow === undefined && !existsSync(path)) {
    throw new SvirtAuditError(
      'BAD_INPUT',
      `${path} does not exist on this host`,
      'pass --follow PATH, run under auditd with --audisp, or backfill files with svirt-audit ingest',
    );
  }
  const store = openCommandStore(options, io, { durability: 'normal' });
  const follower = new AuditFileFollower(store, { path, localHost: localHost(options), onWarning: warn });
  await follower.start();
  warn(`following ${path} (stop with Ctrl-C or SIGTERM; progress is saved)`);
  await untilStopSignal();
  await follower.stop();
  const s = follower.status();
  warn(`stopped: ${s.writer.stored} events stored, ${s.writer.denials} denials; checkpoint at byte ${s.checkpoint}`);
  store.close();
  return 0;
}
