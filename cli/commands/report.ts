/** `svirt-audit report`: an incident report for one VM; `report verify FILE` checks one. */

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SvirtAuditError } from '../../core/errors.js';
import { renderReport, type ReportFormat } from '../../report/render.js';
import { collectReportHeader } from '../../report/report-model.js';
import { bufferedFileOut } from '../../report/report-writer.js';
import { verifyReport } from '../../report/verify-report.js';
import { type CommonOptions, databasePath, openCommandStore } from '../command-context.js';
import type { CliIo } from '../io.js';

interface ReportOptions extends CommonOptions {
  vm?: string;
  format: ReportFormat;
  since?: number;
  until?: number;
  out?: string;
}

export function run(options: ReportOptions, _args: string[], io: CliIo): number {
  if (options.vm === undefined)
    throw new SvirtAuditError('BAD_INPUT', 'which VM? pass --vm NAME or uuid', 'list VMs with: svirt-audit vms');
  const store = openCommandStore(options, io);
  const fd = options.out === undefined ? undefined : openSync(options.out, 'w', 0o600);
  try {
    const header = collectReportHeader(store, {
      vm: options.vm,
      ...(options.since !== undefined && { since: options.since }),
      ...(options.until !== undefined && { until: options.until }),
      dbPath: databasePath(options, io),
      version: io.version,
    });
    const sink =
      fd === undefined
        ? { write: (s: string) => io.stdout.write(s), flush: () => undefined }
        : bufferedFileOut(fd, writeSync);
    renderReport(store, header, options.format, sink);
    sink.flush();
    if (options.out !== undefined) {
      io.stderr.write(
        `wrote ${options.format} report for ${header.vm.name} (${header.totals.denials} denials) to ${options.out}\n`,
      );
    }
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
    store.close();
  }
}

export function verify(file: string, io: CliIo): number {
  const r = verifyReport(readFileSync(file));
  if (r.evidenceOk && r.reportOk) {
    io.stdout.write(
      `ok: ${file} is unaltered (${r.format}; evidence ${r.actual.evidenceSha256.slice(0, 16)}…, report ${r.actual.reportSha256.slice(0, 16)}…)\n`,
    );
    return 0;
  }
  io.stdout.write(
    `ALTERED: ${file}: ${[!r.evidenceOk && 'the evidence section', !r.reportOk && 'the report'].filter(Boolean).join(' and ')} no longer match${r.evidenceOk !== r.reportOk ? 'es' : ''} the hashes it carries\n`,
  );
  return 1;
}
