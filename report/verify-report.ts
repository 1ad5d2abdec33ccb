/**
 * `report verify`: recompute a report's two SHA-256 hashes from its bytes and compare them
 * with the ones it carries. The evidence hash covers the evidence section, the report
 * hash everything before the integrity block (see report-writer.ts for the markers).
 */

import { createHash } from 'node:crypto';
import { MARKERS } from './report-writer.js';

export interface VerifyResult {
  format: 'json' | 'md' | 'html';
  evidenceOk: boolean;
  reportOk: boolean;
  expected: { evidenceSha256: string; reportSha256: string };
  actual: { evidenceSha256: string; reportSha256: string };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Where a json, md or html report's integrity block starts (-1: none, e.g. a CSV). */
function integrityBlock(bytes: Buffer): { format: VerifyResult['format']; at: number } {
  const head = bytes.subarray(0, 64).toString('utf8').trimStart();
  const format = head.startsWith('{') ? 'json' : head.toLowerCase().startsWith('<!doctype') ? 'html' : 'md';
  return { format, at: bytes.lastIndexOf(MARKERS[format].integrity) };
}

export function carriesIntegrityBlock(bytes: Buffer): boolean {
  return integrityBlock(bytes).at !== -1;
}

/** Verify a report's bytes. Throws when the file is not a report (no integrity block). */
export function verifyReport(bytes: Buffer): VerifyResult {
  const { format, at: integrityAt } = integrityBlock(bytes);
  const m = MARKERS[format];
  if (integrityAt === -1)
    throw new Error(
      'no integrity block: this is not a json, md or html svirt-audit report (a CSV report is checked against the FILE.sha256 written beside it)',
    );
  let evidence: Buffer;
  let expected: { evidenceSha256: string; reportSha256: string };
  const tail = bytes.subarray(integrityAt + m.integrity.length).toString('utf8');
  if (format === 'json') {
    const begin = bytes.lastIndexOf(MARKERS.json.evidenceBegin, integrityAt);
    if (begin === -1) throw new Error('no evidence section');
    evidence = bytes.subarray(begin + MARKERS.json.evidenceBegin.length, integrityAt);
    const block = JSON.parse(tail.trim().replace(/}$/, '')) as { evidenceSha256: string; reportSha256: string };
    expected = { evidenceSha256: block.evidenceSha256, reportSha256: block.reportSha256 };
  } else {
    const markers = MARKERS[format];
    const begin = bytes.lastIndexOf(markers.evidenceBegin, integrityAt);
    const end = bytes.lastIndexOf(markers.evidenceEnd, integrityAt);
    if (begin === -1 || end === -1 || end < begin) throw new Error('no evidence section');
    // The evidence starts after the begin marker's newline.
    evidence = bytes.subarray(begin + markers.evidenceBegin.length + 1, end);
    const ev = /Evidence SHA-256: (?:`|<code id="evidence-sha256">)([0-9a-f]{64})/.exec(tail)?.[1];
    const rep = /Report SHA-256: (?:`|<code id="report-sha256">)([0-9a-f]{64})/.exec(tail)?.[1];
    if (!ev || !rep) throw new Error('the integrity block does not hold both hashes');
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
  if (!expected) throw new Error('the .sha256 file beside it does not start with a SHA-256 (as sha256sum writes it)');
  const actual = sha(bytes);
  return { ok: actual === expected, expected, actual };
}
