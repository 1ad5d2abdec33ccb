/** One report, in a process of its own (bench/report.ts starts it): prints time and peak RSS. */

import { closeSync, openSync, writeSync } from 'node:fs';
import { renderReport, type ReportFormat } from '../report/render.js';
import { collectReportHeader } from '../report/report-model.js';
import { bufferedFileOut } from '../report/report-writer.js';
import { sqliteReportReads } from '../store/report-reads.js';
import { openStore } from '../store/store.js';

const [db, vm, format, out] = process.argv.slice(2) as [string, string, ReportFormat, string];
const start = performance.now();
const store = openStore(db, { readonly: true });
const reads = sqliteReportReads(store);
const header = await collectReportHeader(reads, { vm, dbPath: db, version: 'bench' });
const fd = openSync(out, 'w');
const sink = bufferedFileOut(fd, writeSync);
await renderReport(reads, header, format, sink);
sink.flush();
closeSync(fd);
store.close();
const ms = performance.now() - start;
console.log(JSON.stringify({ ms, denials: header.totals.denials, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
