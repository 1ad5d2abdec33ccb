/** `svirt-audit fleet`: the fleet administrator's commands on the central PostgreSQL. */

import { readFileSync } from 'node:fs';
import { SvirtAuditError } from '../../core/errors.js';
import { formatTime } from '../../core/time-spec.js';
import { isPostgresUrl, openFleet } from '../../store/postgres/connect.js';
import { addFleetHost, addFleetReader, listFleetHosts } from '../../store/postgres/fleet-hosts.js';
import { pruneFleet } from '../../store/postgres/fleet-retention.js';
import { DEFAULT_KEEP_LABELS_MS } from '../../retention/policy.js';
import { type CommonOptions, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { formatTable } from '../table.js';

interface FleetOptions extends CommonOptions {
  role?: string;
  passwordFile?: string;
  olderThan?: number;
  keepLabels?: number;
}

/** Months go whole: labels stay a month past the denials, so a denial still stored keeps its owner. */
const MONTH_MS = 31 * 86_400_000;

function password(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (text === '' || /[\r\n]/.test(text))
    throw new SvirtAuditError('BAD_INPUT', `${file} must hold one password on one line`);
  return text;
}

const ACTIONS = ['init', 'add-host', 'add-reader', 'hosts', 'prune'];

export async function run(options: FleetOptions, args: string[], io: CliIo): Promise<number> {
  const [action, name] = args;
  const url = options.db;
  if (url === undefined || !isPostgresUrl(url))
    throw new SvirtAuditError(
      'BAD_INPUT',
      'fleet commands need --db postgres://…',
      'e.g. --db postgres:///svirt_audit?host=/var/run/postgresql',
    );
  if (!ACTIONS.includes(action as string))
    throw new SvirtAuditError(
      'BAD_INPUT',
      `unknown fleet action ${JSON.stringify(action)}`,
      `one of: ${ACTIONS.join(', ')}`,
    );
  const pool = await openFleet(url, { migrate: action === 'init' });
  try {
    if (action === 'init') {
      io.stdout.write('the fleet schema is current; add hosts with: svirt-audit fleet add-host NAME --role ROLE\n');
    } else if (action === 'add-host' || action === 'add-reader') {
      if (action === 'add-host' && name === undefined)
        throw new SvirtAuditError('BAD_INPUT', 'add-host needs the host name');
      const role =
        options.role ??
        (action === 'add-host' ? `svirt_host_${(name as string).replace(/[^a-z0-9_]/gi, '_').toLowerCase()}` : name);
      if (role === undefined) throw new SvirtAuditError('BAD_INPUT', 'add-reader needs the role name');
      if (action === 'add-host') await addFleetHost(pool, name as string, role, password(options.passwordFile));
      else await addFleetReader(pool, role, password(options.passwordFile));
      io.stdout.write(
        action === 'add-host' ? `role ${role} ships for host ${name}\n` : `role ${role} reads every host\n`,
      );
    } else if (action === 'hosts') {
      const hosts = await listFleetHosts(pool);
      if (options.json) printJson(io, hosts);
      else
        io.stdout.write(
          formatTable(
            ['HOST', 'ROLE', 'SHIPPED UP TO', 'LAST BATCH'],
            hosts.map((h) => [
              h.name,
              h.role,
              h.newestTime === null ? '-' : formatTime(h.newestTime),
              h.shippedAt === null ? 'never' : formatTime(h.shippedAt),
            ]),
          ),
        );
    } else {
      if (options.olderThan === undefined)
        throw new SvirtAuditError('BAD_INPUT', 'prune needs --older-than SPAN (e.g. 90d)');
      const now = Date.now();
      const keepLabels = Math.max(options.keepLabels ?? DEFAULT_KEEP_LABELS_MS, options.olderThan + MONTH_MS);
      const result = await pruneFleet(pool, now - options.olderThan, now - keepLabels);
      if (options.json) printJson(io, result);
      else
        io.stdout.write(
          `${result.dropped.length === 0 ? 'no whole month is older than that' : `dropped ${result.dropped.join(', ')}`}; removed ${result.allocations} allocations ended before ${formatTime(now - keepLabels)} and their ${result.relabels} relabels\n`,
        );
    }
    return 0;
  } finally {
    await pool.end();
  }
}
