/** `svirt-audit denials`: the denials, attributed, newest first. */

import { DENIAL_CSV_COLUMNS, csvLine, denialCsvRow, denialJson } from '../../core/denial-json.js';
import type { DenialKind } from '../../core/denial-kind.js';
import { formatTime } from '../../core/time-spec.js';
import { type CommonOptions, databasePath, printJson } from '../command-context.js';
import { openReadBackend } from '../../store/read-backend.js';
import type { CliIo } from '../io.js';
import { kindCell } from '../kind-colour.js';
import { formatTable } from '../table.js';

interface DenialsOptions extends CommonOptions {
  vm?: string;
  since?: number;
  until?: number;
  kind?: DenialKind;
  limit?: number;
  csv?: boolean;
}

export async function run(options: DenialsOptions, _args: string[], io: CliIo): Promise<number> {
  const backend = await openReadBackend(databasePath(options, io), { readonly: false });
  try {
    const vm = options.vm === undefined ? undefined : await backend.resolveVm(options.vm);
    // On a terminal the newest 50 unless --limit; for scripts every match unless --limit.
    const limit = options.limit ?? (options.json || options.csv ? undefined : 50);
    const denials = await backend.denials({
      ...(vm && { vmUuid: vm.uuid }),
      ...(options.host !== undefined && { host: options.host }),
      ...(options.since !== undefined && { since: options.since }),
      ...(options.until !== undefined && { until: options.until }),
      ...(options.kind !== undefined && { kind: options.kind }),
      ...(limit !== undefined && { limit }),
    });
    const json = denials.map(denialJson);
    if (options.json) {
      printJson(io, json);
      return 0;
    }
    if (options.csv) {
      io.stdout.write(csvLine(DENIAL_CSV_COLUMNS));
      for (const d of json) io.stdout.write(csvLine(denialCsvRow(d)));
      return 0;
    }
    if (json.length === 0) {
      io.stdout.write('no denials match. Ingest the audit log first: svirt-audit ingest /var/log/audit/audit.log*\n');
      return 0;
    }
    io.stdout.write(
      formatTable(
        ['VM', 'KIND', 'DENIED', 'TARGET', 'TIME', 'ID'],
        json.map((d) => [
          d.source.vm?.name ?? (d.source.categories ? `? (${d.source.categories})` : (d.source.comm ?? '-')),
          kindCell(io, d.kind, d.kind + (d.permissive ? ' (permissive)' : '')),
          `${d.perms.join(',')} ${d.tclass ?? ''}`.trim(),
          d.target.vm && d.target.vm.uuid !== d.source.vm?.uuid
            ? `${d.target.path ?? d.target.name ?? ''} [VM ${d.target.vm.name}]`
            : (d.target.path ?? d.target.name ?? d.target.type ?? '-'),
          formatTime(Date.parse(d.time)).replace('T', ' ').slice(0, 19),
          String(d.id),
        ]),
      ),
    );
    if (limit !== undefined && json.length === limit)
      io.stderr.write(`(newest ${limit}; --limit N for more, --json for all)\n`);
    io.stderr.write('explain one: svirt-audit explain ID\n');
    return 0;
  } finally {
    await backend.close();
  }
}
