/** `svirt-audit ingest FILE…`: backfill audit logs into the store. */

import { statSync } from 'node:fs';
import { displayName, type IngestProgress, ingestFiles } from '../../collector/backfill.js';
import { SvirtAuditError } from '../../core/errors.js';
import { type CommonOptions, localHost, openCommandStore, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';

/** Every named file must be one that can be read, before anything is stored. */
function checkReadable(files: readonly string[]): void {
  const problems: string[] = [];
  for (const file of files) {
    if (file === '-') continue;
    try {
      if (statSync(file).isDirectory()) problems.push(`${file}: is a directory`);
    } catch (e) {
      problems.push(
        `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
      );
    }
  }
  if (problems.length > 0)
    throw new SvirtAuditError(
      'BAD_INPUT',
      `cannot ingest: ${problems.join('; ')}`,
      'name audit log files (e.g. /var/log/audit/audit.log*), or - for stdin; nothing was stored',
    );
}

interface IngestCommandOptions extends CommonOptions {
  finished?: boolean;
}

export async function run(options: IngestCommandOptions, files: string[], io: CliIo): Promise<number> {
  checkReadable(files);
  if (files.includes('-') && (io.stdin as { isTTY?: boolean }).isTTY === true)
    io.stderr.write(
      'svirt-audit ingest: reading audit records from the terminal; end with Ctrl-D (or pipe a log in)\n',
    );
  const store = openCommandStore(options, io, { durability: 'normal' });
  const started = Date.now();
  const tty = io.stderr.isTTY === true && !options.json;
  let lastDraw = 0;
  const draw = (p: IngestProgress) => {
    const now = Date.now();
    if (now - lastDraw < 200) return;
    lastDraw = now;
    const secs = Math.max((now - started) / 1000, 0.001);
    const rate = p.bytesDone / secs;
    const eta = rate > 0 ? Math.max(0, (p.bytesTotal - p.bytesDone) / rate) : 0;
    const pct = p.bytesTotal > 0 ? Math.min(100, (100 * p.bytesDone) / p.bytesTotal) : 100;
    const bar = '#'.repeat(Math.round(pct / 5)).padEnd(20, '.');
    io.stderr.write(
      `\r${displayName(p.file)} [${bar}] ${pct.toFixed(0)}% ${(p.bytesDone / 1e6).toFixed(1)} MB  ${Math.round(p.records / secs)} records/s  ETA ${eta.toFixed(0)} s   `,
    );
  };
  try {
    const summary = await ingestFiles(store, files, {
      localHost: localHost(options),
      ...(tty && { onProgress: draw }),
      stdin: io.stdin,
      filesAreFinished: options.finished === true,
    });
    if (tty) io.stderr.write('\n');
    const secs = (Date.now() - started) / 1000;
    const w = summary.writer;
    if (options.json) {
      printJson(io, {
        files: summary.files,
        bytes: summary.bytes,
        lines: summary.lines,
        records: summary.records,
        events: summary.events,
        eventsStored: w.stored,
        eventsAlreadyStored: w.alreadyStored,
        lateRecordsAdded: w.lateRecordsAdded,
        eventsBelowHorizon: w.belowHorizon,
        denialsStored: w.denials,
        unparsedLines: w.unparsed,
        allocationsLearned: w.opened,
        allocationsMerged: w.merged,
        seconds: secs,
        perFile: summary.perFile,
      });
    } else {
      io.stdout.write(
        `ingested ${summary.files} file(s), ${(summary.bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(1)} s: ` +
          `${summary.records} records, ${w.stored} new events (${w.alreadyStored} already stored` +
          `${w.lateRecordsAdded > 0 ? `, ${w.lateRecordsAdded} late records added to their events` : ''}` +
          `${w.belowHorizon > 0 ? `, ${w.belowHorizon} older than what was pruned, skipped` : ''}), ` +
          `${w.denials} denials, ${w.unparsed} unreadable lines kept, ${w.opened} allocations learned from libvirt records\n`,
      );
    }
    for (const f of summary.perFile)
      if (f.heldBackBytes !== undefined)
        io.stderr.write(
          `svirt-audit ingest: ${f.path}: its last ${f.heldBackBytes} bytes have no newline yet (auditd is still writing that record); they are read whole next time (--finished reads them as they are)\n`,
        );
    const failed = summary.perFile.filter((f) => f.error !== undefined);
    for (const f of failed) io.stderr.write(`svirt-audit ingest: ${f.path}: ${f.error}\n`);
    return failed.length > 0 ? 2 : 0;
  } finally {
    store.close();
  }
}
