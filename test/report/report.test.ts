/**
 * Reports on a fixed scenario (test/helpers/incident-scenario.ts, at a fixed time): a golden file per format with
 * the volatile fields masked (regenerate with UPDATE_GOLDEN=1 and review the diff), and a
 * tamper test for `report verify`.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { DENIAL_JSON_SCHEMA } from '../../core/denial-json.js';
import { buildIncidentScenario, INCIDENT_HOST } from '../helpers/incident-scenario.js';
import { renderReport, type ReportFormat } from '../../report/render.js';
import { collectReportHeader } from '../../report/report-model.js';
import { sqliteReportReads } from '../../store/report-reads.js';
import { verifyReport } from '../../report/verify-report.js';
import { resolveVm } from '../../store/allocations.js';
import { addHold, pruneSteps } from '../../store/retention.js';
import { FIXTURES } from '../helpers/fixtures.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
let t: TempStore;

beforeAll(async () => {
  t = openTempStore();
  const log = buildIncidentScenario(t.store, t.dir, NOW);
  await ingestFiles(t.store, [log], { localHost: INCIDENT_HOST });
});
afterAll(() => t.cleanup());

async function render(vm: string, format: ReportFormat): Promise<string> {
  const header = await collectReportHeader(sqliteReportReads(t.store), {
    vm,
    dbPath: '/var/lib/svirt-audit/audit.db',
    version: 'TEST',
    now: NOW,
  });
  let out = '';
  await renderReport(sqliteReportReads(t.store), header, format, { write: (s) => (out += s) });
  return out;
}

/** The report with its volatile parts masked: the temp dir in evidence paths, and the hashes. */
function mask(text: string): string {
  return text
    .split(t.dir)
    .join('<tmp>')
    .replace(/[0-9a-f]{64}/g, '<sha256>');
}

describe('report golden files', () => {
  it.each([
    ['db1', 'json'],
    ['db1', 'csv'],
    ['db1', 'md'],
    ['web1', 'html'],
  ] as const)('%s as %s', async (vm, format) => {
    const golden = join(FIXTURES, 'reports', `${vm}.${format}`);
    const text = mask(await render(vm, format));
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, text);
    expect(text).toBe(readFileSync(golden, 'utf8'));
  });

  it('the json report carries the documented top-level shape', async () => {
    const doc = JSON.parse(await render('db1', 'json'));
    expect(Object.keys(doc)).toEqual(['schema', 'report', 'denials', 'evidence', 'integrity']);
    expect(doc.report.findings[0]).toMatchObject({ kind: 'unlabeled-target', count: 4 });
    expect(doc.report.relabels).toEqual([
      expect.objectContaining({ path: '/srv/nfs/db1-data.img', failed: true, error: 'Operation not supported' }),
    ]);
    expect(doc.evidence).toHaveLength(4);
    expect(doc.evidence[0].source.path).toMatch(/audit\.log$/);
    expect(doc.evidence[0].source.offset).toBeGreaterThan(0);
    expect(doc.report.enforcing[0].unknownUntil).not.toBeNull();
  });
});

describe('report verify', () => {
  it.each(['json', 'md', 'html'] as const)(
    '%s: an intact report verifies; a changed record or header does not',
    async (format) => {
      const text = await render('web1', format);
      const intact = verifyReport(Buffer.from(text));
      expect(intact).toMatchObject({ format, evidenceOk: true, reportOk: true });
      // Change one digit of a raw record in the evidence: both hashes break.
      const tampered = text.replace(
        /(type=AVC msg=audit\(\d+\.\d+:)(\d)/,
        (_m, a: string, d: string) => `${a}${(Number(d) + 1) % 10}`,
      );
      expect(tampered).not.toBe(text);
      expect(verifyReport(Buffer.from(tampered))).toMatchObject({ evidenceOk: false, reportOk: false });
      // Change the header only: the evidence still verifies, the report does not.
      const header = text.replace('web1', 'webX');
      expect(verifyReport(Buffer.from(header))).toMatchObject({ evidenceOk: true, reportOk: false });
    },
  );

  it('a CSV report has no integrity block and says where its hash is', async () => {
    const csv = await render('web1', 'csv');
    expect(() => verifyReport(Buffer.from(csv))).toThrow(/checked against the FILE\.sha256/);
  });
});

describe('report.schema.json', () => {
  it('the json report has every key the schema requires', async () => {
    const schema = JSON.parse(readFileSync(join(FIXTURES, '..', '..', 'report', 'report.schema.json'), 'utf8'));
    const doc = JSON.parse(await render('db1', 'json'));
    const check = (
      value: Record<string, unknown>,
      s: { required?: string[]; properties?: Record<string, unknown> },
      at: string,
    ) => {
      for (const key of s.required ?? []) expect(value, `${at}.${key}`).toHaveProperty(key);
    };
    check(doc, schema, '$');
    check(doc.report, schema.properties.report, '$.report');
    check(doc.integrity, schema.properties.integrity, '$.integrity');
    for (const d of doc.denials) check(d, schema.$defs.denial, '$.denials[]');
    for (const e of doc.evidence) check(e, schema.properties.evidence.items, '$.evidence[]');
    for (const f of doc.report.findings)
      check(f, schema.properties.report.properties.findings.items, '$.report.findings[]');
  });
});

describe('one schema for a denial', () => {
  it("report.schema.json's denial is the schema the API serves and DenialJson is derived from", () => {
    const schema = JSON.parse(readFileSync(join(FIXTURES, '..', '..', 'report', 'report.schema.json'), 'utf8'));
    expect(schema.properties.denials.items).toEqual({ $ref: '#/$defs/denial' });
    expect(schema.$defs.denial).toEqual(JSON.parse(JSON.stringify(DENIAL_JSON_SCHEMA)));
  });
});

describe('reports and retention', () => {
  it('a report names the holds covering its VM and says when part of its window was pruned', async () => {
    const own = openTempStore();
    try {
      const log = buildIncidentScenario(own.store, own.dir, NOW);
      await ingestFiles(own.store, [log], { localHost: INCIDENT_HOST });
      const db1 = resolveVm(own.store, 'db1');
      addHold(own.store, { vmUuid: db1.uuid, vmName: db1.name, reason: 'INC-7 | <b>', since: null, until: null });
      const header = () =>
        collectReportHeader(sqliteReportReads(own.store), { vm: 'db1', dbPath: 'x.db', version: 'TEST', now: NOW });
      expect((await header()).retention).toEqual({
        holds: [expect.objectContaining({ reason: 'INC-7 | <b>', since: null })],
        prunedBefore: null,
        windowPruned: false,
      });
      const steps = pruneSteps(own.store, { before: NOW, labelsBefore: 0 });
      while (!steps.next().done);
      const after = await header();
      expect(after.retention).toMatchObject({ prunedBefore: '2026-11-21T12:00:00.000Z', windowPruned: true });
      // Held: db1's denials are all still there.
      expect(after.totals.denials).toBe(4);
      let md = '';
      await renderReport(sqliteReportReads(own.store), after, 'md', { write: (s) => (md += s) });
      expect(md).toContain('Held (hold 1): INC-7 \\| \\<b\\>, from the start to open');
      expect(md).toContain('**Records before 2026-11-21T12:00:00.000Z were pruned**');
    } finally {
      own.cleanup();
    }
  });
});
