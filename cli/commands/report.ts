/** `svirt-audit report`: an incident report for one VM; `report verify FILE` checks one. */

import {
  chmodSync,
  closeSync,
  existsSync,
  fchmodSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename } from 'node:path';
import { SvirtAuditError } from '../../core/errors.js';
import { renderReport, type ReportFormat } from '../../report/render.js';
import { collectReportHeader } from '../../report/report-model.js';
import { bufferedFileOut } from '../../report/report-writer.js';
import { csvSidecar, reportFormat, verifyCsvReport, verifyReport } from '../../report/verify-report.js';
import { redactedUrl } from '../../store/postgres/url.js';
import { openReadBackend } from '../../store/read-backend.js';
import { type CommonOptions, databasePath } from '../command-context.js';
import type { CliIo } from '../io.js';
import { EXIT } from '../error-message.js';
import { visible } from '../terminal-text.js';

interface ReportOptions extends CommonOptions {
  vm?: string;
  format: ReportFormat;
  since?: number;
  until?: number;
  out?: string;
}

export async function run(options: ReportOptions, _args: string[], io: CliIo): Promise<number> {
  if (options.vm === undefined)
    throw new SvirtAuditError('BAD_INPUT', 'which VM? pass --vm NAME or uuid', 'list VMs with: svirt-audit vms');
  const db = databasePath(options, io);
  const backend = await openReadBackend(db);
  let fd: number | undefined;
  try {
    fd = options.out === undefined ? undefined : openSync(options.out, 'w', 0o600);
    // The mode of open() applies to a new file only: a report replacing a readable file is made private too.
    if (fd !== undefined) fchmodSync(fd, 0o600);
    const header = await collectReportHeader(backend.report, {
      vm: options.vm,
      ...(options.since !== undefined && { since: options.since }),
      ...(options.until !== undefined && { until: options.until }),
      // A fleet URL is named without its password.
      dbPath: backend.kind === 'postgres' ? redactedUrl(db) : db,
      version: io.version,
    });
    const sink =
      fd === undefined
        ? { write: (s: string) => io.stdout.write(s), flush: () => undefined }
        : bufferedFileOut(fd, writeSync);
    const csvSha256 = await renderReport(backend.report, header, options.format, sink);
    sink.flush();
    if (options.out !== undefined) {
      let hashNote = '';
      if (csvSha256 !== null) {
        const sidecar = `${options.out}.sha256`;
        writeFileSync(sidecar, csvSidecar(csvSha256, basename(options.out)), { mode: 0o600 });
        chmodSync(sidecar, 0o600);
        hashNote = `; its SHA-256 in ${sidecar}`;
      }
      io.stderr.write(
        `wrote ${options.format} report for ${visible(header.vm.name)} (${header.totals.denials} denials) to ${options.out}${hashNote}\n`,
      );
    } else if (csvSha256 !== null) {
      io.stderr.write(`SHA-256 of this CSV: ${csvSha256}\n`);
    }
    return 0;
  } finally {
    if (fd !== undefined) closeSync(fd);
    await backend.close();
  }
}

export function verify(file: string, io: CliIo): number {
  const bytes = readFileSync(file);
  const sidecar = `${file}.sha256`;
  if (reportFormat(bytes) === 'csv') {
    if (!existsSync(sidecar))
      throw new SvirtAuditError(
        'BAD_INPUT',
        `${file} is a CSV report and ${sidecar} is missing`,
        'a CSV carries no hash of its own: keep the FILE.sha256 that report --out writes beside it',
      );
    const csv = verifyCsvReport(bytes, readFileSync(sidecar, 'utf8'));
    io.stdout.write(
      csv.ok
        ? `ok: ${file} is unaltered (csv; SHA-256 ${csv.actual.slice(0, 16)}…, as in ${sidecar})\n`
        : `ALTERED: ${file}: its SHA-256 ${csv.actual.slice(0, 16)}… is not the ${csv.expected.slice(0, 16)}… in ${sidecar}\n`,
    );
    return csv.ok ? EXIT.ok : EXIT.reportAltered;
  }
  const r = verifyReport(bytes);
  if (r.evidenceOk && r.reportOk) {
    io.stdout.write(
      `ok: ${file} is unaltered (${r.format}; evidence ${r.actual.evidenceSha256.slice(0, 16)}…, report ${r.actual.reportSha256.slice(0, 16)}…)\n`,
    );
    return EXIT.ok;
  }
  io.stdout.write(
    `ALTERED: ${file}: ${[!r.evidenceOk && 'the evidence section', !r.reportOk && 'the report'].filter(Boolean).join(' and ')} no longer match${r.evidenceOk !== r.reportOk ? 'es' : ''} the hashes it carries\n`,
  );
  return EXIT.reportAltered;
}
