/** `svirt-audit explain ID`: one denial with its raw records, attribution, evidence, cause and fix. */

import { denialJson } from '../../core/denial-json.js';
import { SvirtAuditError } from '../../core/errors.js';
import { formatTime } from '../../core/time-spec.js';
import { openReadBackend } from '../../store/read-backend.js';
import { type CommonOptions, databasePath, printJson } from '../command-context.js';
import type { CliIo } from '../io.js';
import { colourKind } from '../kind-colour.js';
import { visible } from '../terminal-text.js';

export async function run(options: CommonOptions, args: string[], io: CliIo): Promise<number> {
  const id = Number(args[0]);
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new SvirtAuditError('BAD_INPUT', `"${args[0]}" is not a denial id`, 'take an id from svirt-audit denials');
  const backend = await openReadBackend(databasePath(options, io));
  try {
    const e = await backend.explain(id);
    if (!e)
      throw new SvirtAuditError('UNKNOWN_DENIAL', `no denial with id ${id}`, 'list denials with: svirt-audit denials');
    const d = e.denial;
    if (options.json) {
      printJson(io, {
        ...denialJson(d),
        raw: e.raw,
        attribution: {
          source: d.source.allocation,
          target: d.target.allocation,
          targetFormerHolder: d.target.formerHolder,
        },
        evidence: { relabels: e.relabels, expectedDisk: e.expected },
        explanation: e.explanation,
      });
      return 0;
    }
    const out: string[] = [];
    const alloc = (a: typeof d.source.allocation) =>
      a
        ? `VM ${a.name} (${a.uuid}) held ${a.label ?? a.categories} on ${a.host} from ${formatTime(a.startedAt)} to ${a.endedAt === null ? 'now' : formatTime(a.endedAt)}, recorded by ${a.source}`
        : 'no allocation held this label at that time';
    out.push(
      `denial ${d.id}: ${colourKind(io, d.kind)}${d.permissive ? ' (permissive: would be denied when enforcing)' : ''}`,
    );
    out.push(`  ${formatTime(d.time)} on ${d.host}, audit serial ${d.serial}`);
    out.push(`  denied: ${d.perms.join(' ')} ${d.tclass ?? ''}`);
    out.push(
      `  source: ${d.source.context} (${d.source.comm ?? '?'}, pid ${d.source.pid ?? '?'}${d.source.exe ? `, ${d.source.exe}` : ''})`,
    );
    out.push(`          ${alloc(d.source.allocation)}`);
    out.push(`  target: ${d.target.context ?? '-'} ${d.target.path ?? d.target.name ?? ''}`);
    if (d.target.allocation) out.push(`          ${alloc(d.target.allocation)}`);
    if (d.target.formerHolder && !d.target.allocation) out.push(`          formerly: ${alloc(d.target.formerHolder)}`);
    out.push('', 'why:', `  ${e.explanation.cause}`);
    if (e.explanation.note) out.push(`  note: ${e.explanation.note}`);
    out.push('', 'fix:', ...e.explanation.fix.map((f) => `  - ${f}`));
    if (e.relabels.length > 0 || e.expected) {
      out.push('', 'evidence (our records for this path):');
      if (e.expected)
        out.push(
          `  the VM definition lists it as ${e.expected.mode}, expected label ${e.expected.expectedLabel ?? '(its own)'}, relabel ${e.expected.relabel ? 'yes' : 'no'}`,
        );
      for (const r of e.relabels)
        out.push(`  ${formatTime(r.at)} ${r.action} ${r.labelBefore} -> ${r.labelAfter}: ${r.error ?? 'ok'}`);
    }
    out.push('', 'raw audit records:', ...e.raw.map((l) => `  ${l}`), '');
    // Every line but the first (id and kind, ours) holds text from the log.
    io.stdout.write(out.map((line, i) => (i === 0 ? line : visible(line))).join('\n'));
    return 0;
  } finally {
    await backend.close();
  }
}
