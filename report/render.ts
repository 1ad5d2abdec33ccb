/**
 * The four report formats, each written as a stream (constant memory in the number of
 * denials): json (everything, docs/report-schema.md), csv (the denial list), md (for a
 * ticket), html (one self-contained file with an inline SVG timeline).
 */

import { DENIAL_CSV_COLUMNS, csvLine, denialCsvRow, denialJson } from '../core/denial-json.js';
import { DENIAL_KINDS, type DenialKind } from '../core/denial-kind.js';
import type { ReportReads } from '../store/report-reads.js';
import { mdCode, mdText } from './markdown-text.js';
import { bucketMs, type ReportHeader } from './report-model.js';
import { HashingWriter, MARKERS, type TextOut } from './report-writer.js';
import { formatTime } from '../core/time-spec.js';

export const REPORT_FORMATS = ['json', 'csv', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

function windowOf(h: ReportHeader): { since?: number; until?: number } {
  return {
    ...(h.window.since !== null && { since: Date.parse(h.window.since) }),
    ...(h.window.until !== null && { until: Date.parse(h.window.until) }),
  };
}

/** Where an event came from when no file is recorded: standard input, or a host that shipped it to the fleet. */
const UNNAMED_SOURCE = 'stdin or an unrecorded file';

const denialsOf = (reads: ReportReads, h: ReportHeader) => reads.denials(h.vm.uuid, windowOf(h));

/** The VM's denials' events, once each, in order. */
const evidenceOf = (reads: ReportReads, h: ReportHeader) => reads.evidence(h.vm.uuid, windowOf(h));

/**
 * Write the report. json, md and html carry their hashes inside and this returns null; a
 * CSV has no place for them (a spreadsheet reads any trailer as a row), so this returns
 * the SHA-256 of the whole CSV for the caller to keep beside it (`FILE.sha256`).
 */
export async function renderReport(
  reads: ReportReads,
  header: ReportHeader,
  format: ReportFormat,
  out: TextOut,
): Promise<string | null> {
  const steps = reportSteps(reads, header, format, out);
  for (;;) {
    const step = await steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same, one row at a time: the report is written to `out` and the generator pauses
 * after each denial and each piece of evidence, so a caller that writes to a slow client
 * can wait for it (and let other work run) between rows. Its value is renderReport's.
 * Over SQLite, `reads` must be on a connection of the caller's own: its statements stay
 * open across pauses.
 */
export async function* reportSteps(
  reads: ReportReads,
  header: ReportHeader,
  format: ReportFormat,
  out: TextOut,
): AsyncGenerator<void, string | null, void> {
  const w = new HashingWriter(out);
  if (format === 'json') yield* renderJson(reads, header, w);
  else if (format === 'md') yield* renderMarkdown(reads, header, w);
  else if (format === 'html') yield* renderHtml(reads, header, w);
  else {
    yield* renderCsv(reads, header, w);
    // No integrity block: the "report" hash covers every byte of the file.
    return w.seal().reportSha256;
  }
  return null;
}

async function* renderCsv(reads: ReportReads, h: ReportHeader, w: HashingWriter): AsyncGenerator<void, void, void> {
  w.write(csvLine(DENIAL_CSV_COLUMNS));
  for await (const d of denialsOf(reads, h)) {
    w.write(csvLine(denialCsvRow(denialJson(d))));
    yield;
  }
}

async function* renderJson(reads: ReportReads, h: ReportHeader, w: HashingWriter): AsyncGenerator<void, void, void> {
  w.write(`{"schema":${JSON.stringify(h.schema)},"report":${JSON.stringify(h)},"denials":[`);
  let first = true;
  for await (const d of denialsOf(reads, h)) {
    w.write(`${first ? '\n' : ',\n'}${JSON.stringify(denialJson(d))}`);
    first = false;
    yield;
  }
  w.write(`\n]${MARKERS.json.evidenceBegin}`);
  w.beginEvidence();
  w.write('[');
  first = true;
  for await (const e of evidenceOf(reads, h)) {
    const item = {
      eventId: e.eventId,
      host: e.host,
      time: formatTime(e.time),
      serial: e.serial,
      source: { path: e.sourcePath, offset: e.sourceOffset },
      records: e.records,
    };
    w.write(`${first ? '\n' : ',\n'}${JSON.stringify(item)}`);
    first = false;
    yield;
  }
  w.write('\n]');
  w.endEvidence();
  const integrity = w.seal();
  w.write(`${MARKERS.json.integrity}${JSON.stringify({ algorithm: 'sha256', ...integrity })}}\n`);
}

/** A table cell: prose escaping (mdText also escapes `|`, which GFM reads as a cell break). */
const mdCell = (s: string | number | null) => mdText(s);

async function* renderMarkdown(
  reads: ReportReads,
  h: ReportHeader,
  w: HashingWriter,
): AsyncGenerator<void, void, void> {
  const line = (s = '') => w.write(`${s}\n`);
  line(`# Incident report: VM ${mdText(h.vm.name)}`);
  line();
  line(`- VM: **${mdText(h.vm.name)}** (\`${h.vm.uuid}\`) on ${mdText(h.vm.hosts.join(', ')) || 'no recorded host'}`);
  line(`- Window: ${h.window.since ?? 'beginning of records'} to ${h.window.until ?? 'now'}`);
  line(
    `- Denials: ${h.totals.denials} (${h.totals.permissive} permissive); ${
      DENIAL_KINDS.filter((k) => h.totals.byKind[k] > 0)
        .map((k) => `${k} ${h.totals.byKind[k]}`)
        .join(', ') || 'none'
    }`,
  );
  line(`- Generated ${h.generatedAt} by svirt-audit ${h.generator.version} from \`${h.database}\``);
  line();
  line('## Findings');
  line();
  if (h.findings.length === 0) line('No denials in the window.');
  for (const f of h.findings) {
    line(
      `### ${f.kind}: ${f.perms} ${f.tclass ?? ''} on ${mdCode(f.target)}${f.targetType ? ` (${f.targetType})` : ''}`,
    );
    line();
    line(
      `${f.count} denial(s)${f.permissive ? `, ${f.permissive} permissive` : ''}, first ${f.firstSeen}, last ${f.lastSeen}. Example: denial ${f.exampleId}.`,
    );
    line();
    line(mdText(f.explanation.cause));
    if (f.explanation.note) line(`\n_Note: ${mdText(f.explanation.note)}_`);
    line();
    for (const fix of f.explanation.fix) line(`- ${mdText(fix)}`);
    line();
  }
  line('## Allocations');
  line();
  line('| host | model | label | image label | source | from | to | pid |');
  line('|---|---|---|---|---|---|---|---|');
  for (const a of h.allocations)
    line(
      `| ${[mdCell(a.host), mdCell(a.model), mdCode(a.label, true), mdCode(a.imageLabel, true), ...[a.source, a.startedAt, a.endedAt ?? 'open', a.pid].map(mdCell)].join(' | ')} |`,
    );
  line();
  line('## Enforcing state');
  line();
  for (const e of h.enforcing) {
    if (e.unknownUntil) line(`- ${mdText(e.host)}: **unknown** until ${e.unknownUntil} (no MAC_STATUS record before)`);
    for (const p of e.periods)
      line(
        `- ${mdText(e.host)}: ${p.enforcing === null ? 'unknown' : p.enforcing ? 'enforcing' : '**permissive**'} from ${p.from}${p.to ? ` to ${p.to}` : ''}`,
      );
  }
  line();
  line('## Retention');
  line();
  for (const hold of h.retention.holds)
    line(
      `- Held (hold ${hold.id}): ${mdText(hold.reason)}, ${hold.since ?? 'from the start'} to ${hold.until ?? 'open'}`,
    );
  if (h.retention.windowPruned)
    line(
      `- **Records before ${h.retention.prunedBefore} were pruned**: the start of this window may be missing, except what a hold kept.`,
    );
  if (h.retention.holds.length === 0 && !h.retention.windowPruned) line('No hold; nothing in this window was pruned.');
  line();
  line('## Relabel and restore actions');
  line();
  if (h.relabels.length === 0) line('None recorded.');
  else {
    line('| time | action | path | from | to | result |');
    line('|---|---|---|---|---|---|');
    for (const r of h.relabels)
      line(
        `| ${[r.time, r.action].map(mdCell).join(' | ')} | ${[r.path, r.from, r.to].map((x) => mdCode(x, true)).join(' | ')} | ${r.failed ? `**FAILED: ${mdText(r.error)}**` : 'ok'} |`,
      );
  }
  line();
  line(`## Timeline (per ${h.timeline.bucket})`);
  line();
  line(`| ${h.timeline.bucket} starting | ${DENIAL_KINDS.join(' | ')} |`);
  line(`|---|${DENIAL_KINDS.map(() => '---:').join('|')}|`);
  for (const b of h.timeline.buckets) line(`| ${b.start} | ${DENIAL_KINDS.map((k) => b.counts[k] ?? 0).join(' | ')} |`);
  line();
  line('## Denials');
  line();
  line('| id | time | kind | denied | target | target VM | source | pid |');
  line('|---|---|---|---|---|---|---|---|');
  for await (const d of denialsOf(reads, h)) {
    const j = denialJson(d);
    line(
      `| ${[j.id, j.time, j.kind + (j.permissive ? ' (permissive)' : ''), `${j.perms.join(' ')} ${j.tclass ?? ''}`].map(mdCell).join(' | ')} | ${mdCode(j.target.path ?? j.target.name ?? j.target.context, true)} | ${mdCell(j.target.vm?.name ?? '')} | ${mdCode(j.source.context, true)} | ${mdCell(j.source.pid)} |`,
    );
    yield;
  }
  line();
  line('## Evidence');
  line();
  line('The raw audit records of every denial above, verbatim, with the file and byte offset they were read from.');
  line();
  w.write(`${MARKERS.md.evidenceBegin}\n`);
  w.beginEvidence();
  for await (const e of evidenceOf(reads, h)) {
    line(
      `Event ${e.eventId}: ${formatTime(e.time)} on ${mdText(e.host)}, serial ${e.serial}, from ${e.sourcePath === null ? UNNAMED_SOURCE : mdCode(e.sourcePath)}${e.sourceOffset === null ? '' : ` at byte ${e.sourceOffset}`}`,
    );
    line();
    // Longer than any run of backticks in the records, so a record cannot close the block.
    const longest = Math.max(3, ...e.records.flatMap((r) => (r.match(/`+/g) ?? []).map((run) => run.length)));
    const fence = '`'.repeat(longest + 1);
    line(`${fence}text`);
    for (const r of e.records) line(r);
    line(fence);
    line();
    yield;
  }
  w.endEvidence();
  w.write(`${MARKERS.md.evidenceEnd}\n\n`);
  const integrity = w.seal();
  w.write(
    `${MARKERS.md.integrity}\n## Integrity\n\n- Evidence SHA-256: \`${integrity.evidenceSha256}\`\n- Report SHA-256: \`${integrity.reportSha256}\`\n\nCheck with: svirt-audit report verify FILE\n`,
  );
}

const esc = (s: string | number | null | undefined) =>
  String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export const KIND_COLOURS: Record<DenialKind, string> = {
  'cross-vm': '#c62828',
  'stale-label': '#ef6c00',
  'unlabeled-target': '#f9a825',
  'shared-resource': '#00838f',
  'apparmor-profile': '#6a1b9a',
  unattributed: '#757575',
  policy: '#9e9e9e',
};

function timelineSvg(h: ReportHeader): string {
  const t = h.timeline;
  if (t.from === null || t.to === null || t.buckets.length === 0) return '<p>No denials in the window.</p>';
  const step = bucketMs(t.bucket);
  const from = Date.parse(t.from);
  const to = Date.parse(t.to);
  const n = Math.max(1, Math.ceil((to - from) / step));
  const byStart = new Map(t.buckets.map((b) => [Date.parse(b.start), b.counts]));
  const max = Math.max(1, ...t.buckets.map((b) => Object.values(b.counts).reduce((s, c) => s + (c ?? 0), 0)));
  const width = 900;
  const height = 220;
  const barW = width / n;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const start = from + i * step;
    const counts = byStart.get(start);
    if (!counts) continue;
    let y = height;
    for (const k of DENIAL_KINDS) {
      const c = counts[k] ?? 0;
      if (c === 0) continue;
      const barH = (c / max) * (height - 10);
      y -= barH;
      parts.push(
        `<rect class="bar" data-kind="${k}" data-count="${c}" data-start="${formatTime(start)}" x="${(i * barW).toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(1, barW - 1).toFixed(2)}" height="${barH.toFixed(2)}" fill="${KIND_COLOURS[k]}"><title>${k}: ${c} (${formatTime(start)})</title></rect>`,
      );
    }
  }
  return `<svg class="timeline" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="denials per ${t.bucket} by kind">${parts.join('')}</svg>
<p class="legend">${DENIAL_KINDS.map((k) => `<span><i style="background:${KIND_COLOURS[k]}"></i>${k}</span>`).join(' ')} &middot; per ${t.bucket}, ${t.from} to ${t.to}, tallest bar ${max}</p>`;
}

async function* renderHtml(reads: ReportReads, h: ReportHeader, w: HashingWriter): AsyncGenerator<void, void, void> {
  const crossVm = h.totals.byKind['cross-vm'];
  w.write(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Incident report: VM ${esc(h.vm.name)}</title>
<meta name="generator" content="svirt-audit ${esc(h.generator.version)}">
<style>
body{font:14px/1.45 system-ui,-apple-system,"DejaVu Sans",sans-serif;margin:2rem;color:#212121;max-width:1200px}
h1{margin:0 0 .3rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:1rem 0}.card{border:1px solid #ddd;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.6rem}.card.alert{border-color:#c62828;color:#c62828}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top;font-size:12px}
th{background:#f5f5f5}tr.failed td{background:#ffebee;font-weight:600}
.kind{display:inline-block;padding:0 .4rem;border-radius:3px;color:#fff}
pre{background:#fafafa;border:1px solid #eee;padding:.4rem;white-space:pre-wrap;word-break:break-all;font-size:11px}
.legend span{margin-right:.8rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:middle}
.finding{border-left:4px solid #999;padding-left:.8rem;margin:1rem 0}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}tr,pre,.finding{page-break-inside:avoid}}
</style></head><body>
<h1>Incident report: VM ${esc(h.vm.name)}</h1>
<p><code>${esc(h.vm.uuid)}</code> on ${esc(h.vm.hosts.join(', ') || 'no recorded host')} &middot; window ${esc(h.window.since ?? 'beginning of records')} to ${esc(h.window.until ?? 'now')} &middot; generated ${esc(h.generatedAt)} by svirt-audit ${esc(h.generator.version)} from <code>${esc(h.database)}</code></p>
<div class="cards">
<div class="card"><b id="total-denials">${h.totals.denials}</b>denials</div>
<div class="card${crossVm > 0 ? ' alert' : ''}"><b>${crossVm}</b>cross-VM attempts</div>
<div class="card"><b>${h.totals.permissive}</b>permissive</div>
<div class="card"><b>${h.allocations.length}</b>allocations</div>
<div class="card"><b>${h.relabels.filter((r) => r.failed).length}</b>failed relabels</div>
</div>
<h2>Findings</h2>
`);
  if (h.findings.length === 0) w.write('<p>No denials in the window.</p>\n');
  for (const f of h.findings) {
    w.write(`<div class="finding" style="border-color:${KIND_COLOURS[f.kind]}"><h3><span class="kind" style="background:${KIND_COLOURS[f.kind]}">${esc(f.kind)}</span> ${esc(f.perms)} ${esc(f.tclass)} on ${esc(f.target)}${f.targetType ? ` (${esc(f.targetType)})` : ''}</h3>
<p>${f.count} denial(s)${f.permissive ? `, ${f.permissive} permissive` : ''}, first ${esc(f.firstSeen)}, last ${esc(f.lastSeen)}; example: denial ${f.exampleId}</p>
<p>${esc(f.explanation.cause)}</p>${f.explanation.note ? `<p><em>${esc(f.explanation.note)}</em></p>` : ''}
<ul>${f.explanation.fix.map((x) => `<li>${esc(x)}</li>`).join('')}</ul></div>
`);
  }
  w.write(
    `<h2>Timeline</h2>\n${timelineSvg(h)}\n<h2>Allocations</h2>\n<table><tr><th>host</th><th>model</th><th>label</th><th>image label</th><th>source</th><th>from</th><th>to</th><th>pid</th></tr>\n`,
  );
  for (const a of h.allocations)
    w.write(
      `<tr>${[a.host, a.model, a.label, a.imageLabel, a.source, a.startedAt, a.endedAt ?? 'open', a.pid].map((c) => `<td>${esc(c)}</td>`).join('')}</tr>\n`,
    );
  w.write('</table>\n<h2>Enforcing state</h2>\n<ul>\n');
  for (const e of h.enforcing) {
    if (e.unknownUntil)
      w.write(`<li>${esc(e.host)}: <b>unknown</b> until ${esc(e.unknownUntil)} (no MAC_STATUS record before)</li>\n`);
    for (const p of e.periods)
      w.write(
        `<li>${esc(e.host)}: ${p.enforcing === null ? 'unknown' : p.enforcing ? 'enforcing' : '<b>permissive</b>'} from ${esc(p.from)}${p.to ? ` to ${esc(p.to)}` : ''}</li>\n`,
      );
  }
  w.write('</ul>\n<h2>Retention</h2>\n<ul>\n');
  for (const hold of h.retention.holds)
    w.write(
      `<li>Held (hold ${hold.id}): ${esc(hold.reason)}, ${esc(hold.since ?? 'from the start')} to ${esc(hold.until ?? 'open')}</li>\n`,
    );
  if (h.retention.windowPruned)
    w.write(
      `<li><b>Records before ${esc(h.retention.prunedBefore)} were pruned</b>: the start of this window may be missing, except what a hold kept.</li>\n`,
    );
  if (h.retention.holds.length === 0 && !h.retention.windowPruned)
    w.write('<li>No hold; nothing in this window was pruned.</li>\n');
  w.write('</ul>\n<h2>Relabel and restore actions</h2>\n');
  if (h.relabels.length === 0) w.write('<p>None recorded.</p>\n');
  else {
    w.write('<table><tr><th>time</th><th>action</th><th>path</th><th>from</th><th>to</th><th>result</th></tr>\n');
    for (const r of h.relabels) {
      w.write(
        `<tr${r.failed ? ' class="failed"' : ''}>${[r.time, r.action, r.path, r.from, r.to, r.failed ? `FAILED: ${r.error}` : 'ok'].map((c) => `<td>${esc(c)}</td>`).join('')}</tr>\n`,
      );
    }
    w.write('</table>\n');
  }
  w.write(
    '<h2>Denials</h2>\n<table><tr><th>id</th><th>time</th><th>kind</th><th>denied</th><th>target</th><th>target VM</th><th>source</th><th>pid</th></tr>\n',
  );
  for await (const d of denialsOf(reads, h)) {
    const j = denialJson(d);
    w.write(
      `<tr>${[j.id, j.time, j.kind + (j.permissive ? ' (permissive)' : ''), `${j.perms.join(' ')} ${j.tclass ?? ''}`, j.target.path ?? j.target.name ?? j.target.context, j.target.vm?.name ?? '', j.source.context, j.source.pid].map((c) => `<td>${esc(c)}</td>`).join('')}</tr>\n`,
    );
    yield;
  }
  w.write(
    '</table>\n<h2>Evidence</h2>\n<p>The raw audit records of every denial above, verbatim, with the file and byte offset they were read from.</p>\n',
  );
  w.write(`${MARKERS.html.evidenceBegin}\n`);
  w.beginEvidence();
  for await (const e of evidenceOf(reads, h)) {
    w.write(
      `<h4>Event ${e.eventId}: ${esc(formatTime(e.time))} on ${esc(e.host)}, serial ${e.serial}, from ${esc(e.sourcePath ?? UNNAMED_SOURCE)}${e.sourceOffset === null ? '' : ` at byte ${e.sourceOffset}`}</h4>\n<pre>${esc(e.records.join('\n'))}</pre>\n`,
    );
    yield;
  }
  w.endEvidence();
  w.write(`${MARKERS.html.evidenceEnd}\n`);
  const integrity = w.seal();
  w.write(
    `${MARKERS.html.integrity}\n<h2>Integrity</h2>\n<p>Evidence SHA-256: <code id="evidence-sha256">${integrity.evidenceSha256}</code><br>Report SHA-256: <code id="report-sha256">${integrity.reportSha256}</code><br>Check with: <code>svirt-audit report verify FILE</code></p>\n</body></html>\n`,
  );
}
