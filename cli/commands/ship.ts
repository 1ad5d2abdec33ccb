/** `svirt-audit ship`: send this host's records to the fleet's PostgreSQL. */

import { Shipper, type ShipStatus } from '../../fleet/shipper.js';
import { SvirtAuditError } from '../../core/errors.js';
import { isPostgresUrl } from '../../store/postgres/url.js';
import { type CommonOptions, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { untilStopSignal } from '../stop-signal.js';

interface ShipOptions extends CommonOptions {
  to?: string;
  follow?: boolean;
  status?: boolean;
}

function describe(s: ShipStatus): string {
  const when =
    s.lastShippedAt === null
      ? 'nothing shipped by this process'
      : `last batch ${new Date(s.lastShippedAt).toISOString()}`;
  return `host ${s.host ?? '?'} → ${s.url}: ${s.lagRows} row(s) behind (${s.lagSeconds.toFixed(1)} s of audit time); ${s.shipped.rows} row(s) stored in ${s.shipped.batches} batch(es); ${when}`;
}

export async function run(options: ShipOptions, _args: string[], io: CliIo): Promise<number> {
  const url = options.to;
  if (url === undefined || !isPostgresUrl(url))
    throw new SvirtAuditError(
      'BAD_INPUT',
      url === undefined ? 'where to ship is not given' : '--to must be a postgres:// or postgresql:// URL',
      'pass --to postgres://ROLE@SERVER/DB (or set SVIRT_AUDIT_FLEET_URL); the password comes from ~/.pgpass or PGPASSWORD',
    );
  const warn = (message: string) => io.stderr.write(`svirt-audit ship: ${message}\n`);
  const store = openCommandStore(options, io, { readonly: true });
  const shipper = new Shipper(store, {
    url,
    ...(options.host !== undefined && { host: options.host }),
    onWarning: warn,
  });
  try {
    await shipper.connect();
    if (options.status) {
      const s = shipper.status();
      if (options.json) printJson(io, s);
      else io.stdout.write(`${describe(s)}\n`);
      return 0;
    }
    if (!options.follow) {
      await shipper.drain();
      const s = shipper.status();
      if (options.json) printJson(io, s);
      else io.stdout.write(`${describe(s)}\n`);
      return 0;
    }
    shipper.start();
    warn(`shipping to ${shipper.status().url} (stop with Ctrl-C or SIGTERM; the fleet keeps the position)`);
    await untilStopSignal();
    await shipper.stop();
    warn(`stopped: ${describe(shipper.status())}`);
    return 0;
  } finally {
    await shipper.stop();
    store.close();
  }
}
