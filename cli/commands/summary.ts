/** `svirt-audit summary`: per VM, what was denied, grouped, with counts and first/last seen. */

import { KIND_SEVERITY } from '../../core/denial-kind.js';
import { formatTime } from '../../core/time-spec.js';
import { openReadBackend } from '../../store/read-backend.js';
import type { VmSummaryAnswer } from '../../store/vm-summary.js';
import { type CommonOptions, databasePath, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { kindCell } from '../kind-colour.js';
import { formatTable } from '../table.js';
import { visible } from '../terminal-text.js';

interface SummaryOptions extends CommonOptions {
  vm?: string;
  since?: number;
  until?: number;
}

const short = (ms: number) => formatTime(ms).replace('T', ' ').slice(0, 16);

export async function run(options: SummaryOptions, _args: string[], io: CliIo): Promise<number> {
  const backend = await openReadBackend(databasePath(options, io));
  try {
    const filter = {
      ...(options.since !== undefined && { since: options.since }),
      ...(options.until !== undefined && { until: options.until }),
    };
    const vms = options.vm !== undefined ? [await backend.resolveVm(options.vm)] : await backend.vms();
    const answers: VmSummaryAnswer[] = [];
    for (const v of vms) {
      const a = await backend.summarize(v.uuid, v.name, {
        ...filter,
        ...(options.host !== undefined && { host: options.host }),
      });
      if (options.vm !== undefined || a.total > 0) answers.push(a);
    }
    if (options.json) {
      printJson(
        io,
        answers.map((a) => ({
          ...a,
          groups: a.groups.map((g) => ({ ...g, firstSeen: formatTime(g.firstSeen), lastSeen: formatTime(g.lastSeen) })),
        })),
      );
      return 0;
    }
    if (answers.length === 0) {
      io.stdout.write(
        'no VM has denials in the store. Ingest the audit log (svirt-audit ingest …) and record allocations (svirt-audit install-hook).\n',
      );
      return 0;
    }
    const worst = (a: VmSummaryAnswer) => (a.groups[0] ? KIND_SEVERITY[a.groups[0].kind] : 99);
    answers.sort((a, b) => worst(a) - worst(b) || b.total - a.total);
    for (const a of answers) {
      io.stdout.write(`\n${visible(a.name)} (${a.uuid}): ${a.total} denial(s)\n`);
      io.stdout.write(
        formatTable(
          ['KIND', 'COUNT', 'DENIED', 'TARGET', 'FIRST', 'LAST', 'EXPLAIN'],
          a.groups.map((g) => [
            kindCell(io, g.kind),
            g.permissive > 0 ? `${g.count} (${g.permissive} permissive)` : String(g.count),
            `${g.perms} ${g.tclass ?? ''}`.trim(),
            g.kind === 'cross-vm' ? g.target : `${g.target}${g.targetType ? ` (${g.targetType})` : ''}`,
            short(g.firstSeen),
            short(g.lastSeen),
            String(g.exampleId),
          ]),
        ),
      );
    }
    io.stdout.write('\nexplain a group: svirt-audit explain ID   ·   list them: svirt-audit denials --vm NAME\n');
    return 0;
  } finally {
    await backend.close();
  }
}
