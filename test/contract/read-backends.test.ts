/**
 * The contract of the read answers, run against both backends: one host's SQLite file and
 * the fleet's PostgreSQL, holding the same two hosts' records (the fleet got them by
 * shipping). Every case runs on each; then both must give equal answers to the same
 * questions (ids aside: each backend numbers its own rows).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttributedDenial } from '../../core/attributed-denial.js';
import type { DenialFilter } from '../../store/denial-query.js';
import { type FleetPool, openFleet } from '../../store/postgres/connect.js';
import { fleetReportReads } from '../../store/postgres/fleet-report-reads.js';
import type { ReportReads } from '../../store/report-reads.js';
import { postgresBackend } from '../../store/postgres/postgres-backend.js';
import { type ReadBackend, sqliteBackend } from '../../store/read-backend.js';
import { buildFleetScenario, CACHE1, shipFleetScenario } from '../helpers/fleet-scenario.js';
import { INCIDENT_VMS } from '../helpers/incident-scenario.js';
import { createTestDatabase, postgresUnavailable, type TestDatabase } from '../helpers/postgres.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';
import { withoutIds } from '../helpers/without-ids.js';
import { renderReport } from '../../report/render.js';
import { collectReportHeader, type ReportHeader } from '../../report/report-model.js';
import { verifyReport } from '../../report/verify-report.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const unavailable = await postgresUnavailable();
if (unavailable) console.warn(`test/contract: the PostgreSQL backend is skipped: ${unavailable}`);

let t: TempStore;
let db: TestDatabase | undefined;
let pool: FleetPool | undefined;
const backends: Record<'sqlite' | 'postgres', ReadBackend | undefined> = { sqlite: undefined, postgres: undefined };

beforeAll(async () => {
  t = openTempStore();
  await buildFleetScenario(t.store, t.dir, NOW);
  backends.sqlite = sqliteBackend(t.store);
  if (unavailable) return;
  db = await createTestDatabase();
  const { reader } = await shipFleetScenario(t.store, db);
  pool = await openFleet(reader);
  backends.postgres = postgresBackend(pool);
}, 60_000);

afterAll(async () => {
  await backends.postgres?.close();
  await db?.drop();
  t.cleanup();
});

const kindsOf = (denials: AttributedDenial[], vm: string, host?: string) =>
  [
    ...new Set(
      denials
        .filter((d) => d.source.allocation?.name === vm && (host === undefined || d.host === host))
        .map((d) => d.kind),
    ),
  ].sort();

describe.each(['sqlite', 'postgres'] as const)('the %s backend', (name) => {
  const backend = () => {
    const b = backends[name];
    if (!b) throw new Error('no backend');
    return b;
  };
  const run = name === 'postgres' && unavailable ? it.skip : it;

  run('attributes every kind of finding on hv1 as the incident scenario says', async () => {
    const all = await backend().denials({ host: 'hv1' });
    expect(kindsOf(all, 'web1')).toEqual(['cross-vm']);
    expect(kindsOf(all, 'db1')).toEqual(['unlabeled-target']);
    expect(kindsOf(all, 'web2')).toEqual(['stale-label']);
    expect(kindsOf(all, 'build')).toEqual(['policy', 'shared-resource']);
    expect(kindsOf(all, 'desk')).toEqual(['apparmor-profile']);
    expect(all.filter((d) => d.kind === 'unattributed').length).toBeGreaterThan(0);
  });

  run('a label held by different VMs on two hosts is attributed per host', async () => {
    const onHv2 = await backend().denials({ host: 'hv2' });
    const reach = onHv2.filter((d) => d.target.path === '/var/lib/libvirt/images/cache1.qcow2');
    expect(reach).toHaveLength(2);
    for (const d of reach) {
      expect(d.kind).toBe('cross-vm');
      expect(d.source.allocation?.name).toBe('web1');
      expect(d.target.allocation?.name).toBe('cache1');
    }
    const own = onHv2.find((d) => d.target.path === '/etc/hv2-only.conf');
    expect(own?.source.allocation?.uuid).toBe(CACHE1);
  });

  run('a migrated VM is one VM: its denials on both hosts, its summary counting both', async () => {
    const denials = await backend().denials({ vmUuid: INCIDENT_VMS.web1 });
    expect(new Set(denials.map((d) => d.host))).toEqual(new Set(['hv1', 'hv2']));
    expect(denials).toHaveLength(5);
    const summary = await backend().summarize(INCIDENT_VMS.web1, 'web1', {});
    expect(summary.total).toBe(5);
    expect(summary.groups.map((g) => [g.kind, g.target, g.count])).toEqual([
      ['cross-vm', 'VM db1', 3],
      ['cross-vm', 'VM cache1', 2],
    ]);
    const vms = await backend().vms();
    expect(vms.find((v) => v.uuid === INCIDENT_VMS.web1)?.hosts).toEqual(['hv1', 'hv2']);
  });

  run('keyset pages of three walk the whole list once', async () => {
    const all = await backend().denials({});
    const paged: AttributedDenial[] = [];
    let before: DenialFilter['before'];
    for (;;) {
      const page = await backend().denials({ limit: 3, ...(before && { before }) });
      paged.push(...page);
      const last = page[page.length - 1];
      if (page.length < 3 || !last) break;
      before = { time: last.time, id: last.id };
    }
    expect(paged.map((d) => d.id)).toEqual(all.map((d) => d.id));
  });

  run('filters: kind, class, permission, permissive, window', async () => {
    const b = backend();
    expect((await b.denials({ kind: 'cross-vm' })).every((d) => d.kind === 'cross-vm')).toBe(true);
    expect((await b.denials({ kind: 'cross-vm' })).length).toBe(5);
    expect((await b.denials({ tclass: 'process' })).every((d) => d.tclass === 'process')).toBe(true);
    expect((await b.denials({ perm: 'write' })).every((d) => d.perms.includes('write'))).toBe(true);
    expect((await b.denials({ permissive: true })).map((d) => d.perms)).toEqual([['execmem'], ['execmem']]);
    const window = await b.denials({
      since: NOW - 6 * 3_600_000 + 29 * 60_000,
      until: NOW - 6 * 3_600_000 + 46 * 60_000,
    });
    expect(window.map((d) => d.kind)).toEqual(['cross-vm', 'cross-vm', 'cross-vm']);
  });

  run('names: a VM by name or uuid; an unknown one is UNKNOWN_VM', async () => {
    expect(await backend().resolveVm('db1')).toEqual({ uuid: INCIDENT_VMS.db1, name: 'db1' });
    expect(await backend().resolveVm(INCIDENT_VMS.web1.toUpperCase())).toEqual({
      uuid: INCIDENT_VMS.web1,
      name: 'web1',
    });
    await expect(backend().resolveVm('nope')).rejects.toMatchObject({ code: 'UNKNOWN_VM' });
  });
});

describe('both backends', () => {
  const run = unavailable ? it.skip : it;
  const questions: [string, DenialFilter][] = [
    ['everything', {}],
    ['including granted', { includeGranted: true }],
    ['hv2 only', { host: 'hv2' }],
    ['web1 anywhere', { vmUuid: INCIDENT_VMS.web1 }],
    ['web1 on hv1', { vmUuid: INCIDENT_VMS.web1, host: 'hv1' }],
    ['desk (AppArmor)', { vmUuid: INCIDENT_VMS.desk }],
    ['stale labels', { kind: 'stale-label' }],
    ['newest four', { limit: 4 }],
    ['an hour', { since: NOW - 5 * 3_600_000, until: NOW - 4 * 3_600_000 }],
  ];
  run.each(questions)('answer the same denials: %s', async (_label, filter) => {
    const [a, b] = [await backends.sqlite?.denials(filter), await backends.postgres?.denials(filter)];
    expect(a?.length).toBeGreaterThan(0);
    expect(withoutIds(b)).toEqual(withoutIds(a));
  });

  run("answer the same label history: web1's allocations on both hosts, and the open ones", async () => {
    for (const filter of [{ uuid: INCIDENT_VMS.web1 }, { openOnly: true }, { host: 'hv2', limit: 1 }]) {
      const [a, b] = [await backends.sqlite?.allocations(filter), await backends.postgres?.allocations(filter)];
      expect(a?.length).toBeGreaterThan(0);
      expect(withoutIds(b)).toEqual(withoutIds(a));
    }
  });

  run('explain every denial the same: raw records, attribution, evidence, cause and fix', async () => {
    const all = (await backends.sqlite?.denials({ includeGranted: true })) ?? [];
    const theirs = (await backends.postgres?.denials({ includeGranted: true })) ?? [];
    expect(theirs.length).toBe(all.length);
    for (const [i, d] of all.entries()) {
      const [a, b] = [
        await backends.sqlite?.explain(d.id),
        await backends.postgres?.explain((theirs[i] as { id: number }).id),
      ];
      expect(a?.raw.length).toBeGreaterThan(0);
      expect(withoutIds(b)).toEqual(withoutIds(a));
    }
    expect(await backends.postgres?.explain(999_999_999)).toBeUndefined();
  });

  run('write the same incident report of every VM: findings, timeline, denials, evidence', async () => {
    const report = async (backend: ReadBackend | ReportReads | undefined, vm: string) => {
      if (!backend) throw new Error('no backend');
      const reads = 'report' in backend ? backend.report : backend;
      const header = await collectReportHeader(reads, { vm, dbPath: 'db', version: 'TEST', now: NOW });
      let text = '';
      await renderReport(reads, header, 'json', { write: (s) => (text += s) });
      expect(verifyReport(Buffer.from(text))).toMatchObject({ evidenceOk: true, reportOk: true });
      const doc = JSON.parse(text) as { evidence: { source: unknown }[]; integrity: unknown };
      // Hosts ship records, not the file they read them from; the hashes cover the row numbers.
      return withoutIds({ ...doc, evidence: doc.evidence.map((e) => ({ ...e, source: '#' })), integrity: '#' });
    };
    for (const v of (await backends.sqlite?.vms()) ?? []) {
      const [a, b] = [await report(backends.sqlite, v.uuid), await report(backends.postgres, v.uuid)];
      expect(withoutIds(b)).toEqual(withoutIds(a));
      // The fleet reads denials and evidence a keyset page at a time: pages of one row give the same report.
      expect(await report(fleetReportReads(pool as FleetPool, 1), v.uuid)).toEqual(b);
    }
    const web1 = (await report(backends.postgres, 'web1')) as { report: ReportHeader; denials: unknown[] };
    expect(web1.report.vm.hosts).toEqual(['hv1', 'hv2']);
    expect(web1.denials).toHaveLength(5);
    const db1 = (await report(backends.postgres, 'db1')) as { report: ReportHeader; evidence: unknown[] };
    expect(db1.report.relabels).toEqual([expect.objectContaining({ failed: true })]);
    expect(db1.report.findings.map((f) => f.kind)).toEqual(['unlabeled-target']);
    expect(db1.report.enforcing.length).toBeGreaterThan(0);
    expect(db1.evidence).toHaveLength(4);
  });

  run('answer the same summary for every VM', async () => {
    const vms = (await backends.sqlite?.vms()) ?? [];
    expect(withoutIds(await backends.postgres?.vms())).toEqual(withoutIds(vms));
    for (const v of vms) {
      const [a, b] = [
        await backends.sqlite?.summarize(v.uuid, v.name, {}),
        await backends.postgres?.summarize(v.uuid, v.name, {}),
      ];
      expect(withoutIds(b)).toEqual(withoutIds(a));
    }
  });
});
