/** `svirt-audit serve`: collector and HTTP API in one process. */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SvirtAuditError } from '../../core/errors.js';
import { isPostgresUrl, redactedUrl } from '../../store/postgres/url.js';
import { startServer } from '../../api/server.js';
import { formatSize } from '../../core/size-spec.js';
import { DEFAULT_KEEP_LABELS_MS, DEFAULT_KEEP_MS, defaultMaxBytes } from '../../retention/policy.js';
import { defaultTokenPath } from '../../api/tokens.js';
import { type CommonOptions, databasePath, localHost } from '../command-context.js';
import type { CliIo } from '../io.js';
import { untilStopSignal } from '../stop-signal.js';
import { DEFAULT_AUDIT_LOG } from './collect.js';
import { DEFAULT_ALERT_CONFIG, loadAlertRules } from '../../alerts/alert-config.js';
import { describeSyslogDestination, type SyslogDestination } from '../../syslog/syslog-destination.js';

interface ServeCliOptions extends CommonOptions {
  listen: string;
  socket?: string;
  follow?: string | boolean;
  tokens?: string;
  allowRemote?: boolean;
  logLevel: string;
  readThreads?: number;
  keep?: number;
  maxSize?: number;
  keepLabels?: number;
  shipTo?: string;
  store?: string;
  alerts?: string | boolean;
  syslog?: SyslogDestination;
}

/** `serve --store postgres://…`: the fleet's central read server. */
async function serveFleet(options: ServeCliOptions & { store: string }, io: CliIo): Promise<number> {
  const { startFleetServer } = await import('../../api/fleet-server.js');
  const server = await startFleetServer({
    url: options.store,
    listen: options.listen,
    tokensPath: options.tokens ?? defaultTokenPath(databasePath(options, io)),
    allowRemote: options.allowRemote ?? false,
    version: io.version,
    logLevel: options.logLevel,
    answerFile: join(dirname(databasePath(options, io)), 'fleet-answers.json'),
  });
  io.stderr.write(
    `svirt-audit serve: listening on http://${server.address}; answering for every host of ${redactedUrl(options.store)}\n`,
  );
  process.on('SIGHUP', () => server.reloadTokens());
  await untilStopSignal();
  await server.close();
  io.stderr.write('svirt-audit serve: stopped\n');
  return 0;
}

export async function run(options: ServeCliOptions, _args: string[], io: CliIo): Promise<number> {
  if (options.store !== undefined) {
    if (!isPostgresUrl(options.store))
      throw new SvirtAuditError(
        'BAD_INPUT',
        '--store must be a postgres:// or postgresql:// URL',
        'the embedded store is --db PATH; --store names the fleet database',
      );
    if (typeof options.alerts === 'string' || options.syslog !== undefined)
      throw new SvirtAuditError(
        'BAD_INPUT',
        `--store runs the fleet's read server, which collects nothing: ${typeof options.alerts === 'string' ? '--alerts' : '--syslog'} belongs on each host's serve`,
        'give --alerts and --syslog to the serve of each hypervisor (docs/alerts.md)',
      );
    return serveFleet({ ...options, store: options.store }, io);
  }
  const db = databasePath(options, io);
  if (options.shipTo !== undefined && !isPostgresUrl(options.shipTo))
    throw new SvirtAuditError(
      'BAD_INPUT',
      '--ship-to must be a postgres:// or postgresql:// URL',
      'e.g. --ship-to postgres://svirt_host_hv1@fleet.example/svirt_audit (password in ~/.pgpass or PGPASSWORD)',
    );
  // --follow PATH, --no-follow (false), or the default log when this host has one.
  const follow =
    typeof options.follow === 'string'
      ? options.follow
      : options.follow === false
        ? null
        : existsSync(DEFAULT_AUDIT_LOG)
          ? DEFAULT_AUDIT_LOG
          : null;
  // --alerts FILE, --no-alerts (false), else the default rules with the default file's receivers if it exists.
  const alertsPath =
    options.alerts === false
      ? null
      : typeof options.alerts === 'string'
        ? options.alerts
        : existsSync(DEFAULT_ALERT_CONFIG)
          ? DEFAULT_ALERT_CONFIG
          : null;
  const alerts = options.alerts === false ? null : loadAlertRules(alertsPath);
  // A TLS file named wrong fails the start, not every connection attempt later.
  if (options.syslog?.kind === 'tls')
    for (const file of [options.syslog.ca, options.syslog.cert, options.syslog.key])
      if (file !== undefined && !existsSync(file))
        throw new SvirtAuditError(
          'BAD_INPUT',
          `--syslog: ${file} does not exist`,
          'name the PEM file by its absolute path',
        );
  const retention = {
    keepMs: options.keep ?? DEFAULT_KEEP_MS,
    keepLabelsMs: Math.max(options.keepLabels ?? DEFAULT_KEEP_LABELS_MS, options.keep ?? DEFAULT_KEEP_MS),
    maxBytes: options.maxSize ?? defaultMaxBytes(db),
  };
  const server = await startServer({
    dbPath: db,
    listen: options.listen,
    ...(options.socket !== undefined && { socket: options.socket }),
    follow,
    tokensPath: options.tokens ?? defaultTokenPath(db),
    allowRemote: options.allowRemote ?? false,
    localHost: localHost(options),
    version: io.version,
    logLevel: options.logLevel,
    ...(options.readThreads !== undefined && { readThreads: options.readThreads }),
    retention,
    ...(options.shipTo !== undefined && { shipTo: options.shipTo }),
    alerts,
    ...(options.syslog !== undefined && { syslog: options.syslog }),
  });
  io.stderr.write(
    `svirt-audit serve: listening on http://${server.address}${options.socket ? ` and ${options.socket}` : ''}; ${follow ? `following ${follow}` : 'not following a log'}; keeping ${+(retention.keepMs / 86_400_000).toFixed(2)} days of denials in at most ${formatSize(retention.maxBytes)}${options.shipTo !== undefined ? `; shipping to ${redactedUrl(options.shipTo)}` : ''}${alerts ? `; alerts to ${alerts.receivers.length === 0 ? 'the outbox only (svirt-audit alerts)' : alerts.receivers.map((r) => r.name).join(', ')}` : ''}${options.syslog ? `; syslog to ${describeSyslogDestination(options.syslog)}` : ''}\n`,
  );
  process.on('SIGHUP', () => {
    server.reloadTokens();
    // The alert config too; one that no longer loads keeps the rules running now.
    if (alertsPath === null) return;
    try {
      server.reloadAlerts?.(loadAlertRules(alertsPath));
    } catch (error) {
      server.app.log.error({ err: error }, 'alert config not reloaded; keeping the previous rules');
    }
  });
  await untilStopSignal();
  await server.close();
  io.stderr.write('svirt-audit serve: stopped (batch and checkpoint committed)\n');
  return 0;
}
