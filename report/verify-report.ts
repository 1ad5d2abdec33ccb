/**
 * `report verify`: recompute a report's two SHA-256 hashes from its bytes and compare them
 * with the ones it carries. The evidence hash covers the evidence section, the report
 * hash everything before the integrity block (see report-writer.ts for the markers).
 */

import { createHash } from 'node:crypto';
import { csvLine, DENIAL_CSV_COLUMNS } from '../core/denial-json.js';
import { SvirtAuditError } from '../core/errors.js';
import { MARKERS } from './report-writer.js';

export interface VerifyResult {
  format: 'json' | 'md' | 'html';
  evidenceOk: boolean;
  reportOk: boolean;
  expected: { evidenceSha256: string; reportSha256: string };
  actual: { evidenceSha256: string; reportSha256: string };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const CSV_HEADER = csvLine(DENIAL_CSV_COLUMNS);

/**
 * The report format, read from how the file begins (never from markers further in: a
 * CSV's data can hold `<!-- integrity -->`, and a block appended to a CSV must not turn it
 * into a Markdown report that verifies itself).
 */
export function reportFormat(bytes: Buffer): VerifyResult['format'] | 'csv' {
  const head = bytes.subarray(0, Math.max(CSV_HEADER.length, 64)).toString('utf8');
  if (head.startsWith(CSV_HEADER)) return 'csv';
  const start = head.trimStart();
  if (start.startsWith('{')) return 'json';
  if (start.toLowerCase().startsWith('<!doctype')) return 'html';
  if (start.startsWith('# Incident report')) return 'md';
  throw notAReport('it does not begin as a svirt-audit report in any format');
}

function notAReport(why: string): SvirtAuditError {
  return new SvirtAuditError(
    'BAD_INPUT',
    `not a svirt-audit report: ${why}`,
    'give a file written by svirt-audit report (a CSV is checked against the FILE.sha256 written beside it)',
  );
}

/** Verify a json, md or html report's bytes. Throws BAD_INPUT when the file is not one. */
export function verifyReport(bytes: Buffer): VerifyResult {
  const format = reportFormat(bytes);
  if (format === 'csv')
    throw notAReport('this is a CSV report; it is checked against the FILE.sha256 written beside it');
  const m = MARKERS[format];
  const integrityAt = bytes.lastIndexOf(m.integrity);
  if (integrityAt === -1) throw notAReport(`the ${format} report has no integrity block`);
  let evidence: Buffer;
  let expected: { evidenceSha256: string; reportSha256: string };
  const tail = bytes.subarray(integrityAt + m.integrity.length).toString('utf8');
  if (format === 'json') {
    const begin = bytes.lastIndexOf(MARKERS.json.evidenceBegin, integrityAt);
    if (begin === -1) throw notAReport('no evidence section');
    evidence = bytes.subarray(begin + MARKERS.json.evidenceBegin.length, integrityAt);
    let block: { evidenceSha256?: unknown; reportSha256?: unknown };
    try {
      block = JSON.parse(tail.trim().replace(/}$/, '')) as typeof block;
    } catch {
      throw notAReport('the integrity block is not JSON');
    }
    if (typeof block.evidenceSha256 !== 'string' || typeof block.reportSha256 !== 'string')
      throw notAReport('the integrity block does not hold both hashes');
    expected = { evidenceSha256: block.evidenceSha256, reportSha256: block.reportSha256 };
  } else {
    const markers = MARKERS[format];
    const begin = bytes.lastIndexOf(markers.evidenceBegin, integrityAt);
    const end = bytes.lastIndexOf(markers.evidenceEnd, integrityAt);
    if (begin === -1 || end === -1 || end < begin) throw notAReport('no evidence section');
    // The evidence starts after the begin marker's newline.
    evidence = bytes.subarray(begin + markers.evidenceBegin.length + 1, end);
    const ev = /Evidence SHA-256: (?:`|<code id="evidence-sha256">)([0-9a-f]{64})/.exec(tail)?.[1];
    const rep = /Report SHA-256: (?:`|<code id="report-sha256">)([0-9a-f]{64})/.exec(tail)?.[1];
    if (!ev || !rep) throw notAReport('the integrity block does not hold both hashes');
    expected = { evidenceSha256: ev, reportSha256: rep };
  }
  const actual = { evidenceSha256: sha(evidence), reportSha256: sha(bytes.subarray(0, integrityAt)) };
  return {
    format,
    evidenceOk: actual.evidenceSha256 === expected.evidenceSha256,
    reportOk: actual.reportSha256 === expected.reportSha256,
    expected,
    actual,
  };
}

/** The sidecar `report --format csv --out FILE` writes as FILE.sha256 (`sha256sum -c` reads it). */
export function csvSidecar(sha256: string, fileName: string): string {
  return `${sha256}  ${fileName}\n`;
}

/** A CSV report against its sidecar: the hash in it, and the file's own. Throws on a sidecar it cannot read. */
export function verifyCsvReport(bytes: Buffer, sidecar: string): { ok: boolean; expected: string; actual: string } {
  const expected = /^([0-9a-f]{64}) [ *]/.exec(sidecar)?.[1];
  if (!expected)
    throw new SvirtAuditError(
      'BAD_INPUT',
      'the .sha256 file beside the CSV does not start with a SHA-256 (as sha256sum writes it)',
      'write it again with svirt-audit report --format csv --out FILE',
    );
  const actual = sha(bytes);
  return { ok: actual === expected, expected, actual };
}
