import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { allocateLabel, releaseAllocation } from '../../allocation/allocate.js';
import { buildIncidentScenario, INCIDENT_HOST, INCIDENT_VMS } from '../helpers/incident-scenario.js';
import { explainStoredDenial } from '../../store/denial-explanation.js';
import { getDenial, queryDenials } from '../../store/denial-query.js';
import { allocationLabelMatch } from '../../store/label-match.js';
import { summarizeVm } from '../../store/vm-summary.js';
import { allocateSelinux } from '../helpers/allocations.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

function avcLine(serial: number, timeMs: number, scats: string, tcontext: string): string {
  const stamp = `${Math.floor(timeMs / 1000)}.${String(timeMs % 1000).padStart(3, '0')}:${serial}`;
  return `node=hv1 type=AVC msg=audit(${stamp}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="x" dev="dm-0" ino=1 scontext=system_u:system_r:svirt_t:s0:${scats} tcontext=${tcontext} tclass=file permissive=0`;
}

async function ingest(lines: string[]): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const file = join(t.dir, `log-${Math.random()}.log`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  await ingestFiles(t.store, [file], { localHost: 'hv1' });
}

describe('attribution at query time', () => {
  it('an allocation recorded after its denials were stored attributes them', async () => {
    await ingest([avcLine(1, 10_000, 'c1,c2', 'system_u:object_r:default_t:s0')]);
    expect(queryDenials(t.store)[0]?.source.allocation).toBeNull();
    expect(queryDenials(t.store)[0]?.kind).toBe('unattributed');
    allocateLabel(t.store, {
      uuid: A,
      name: 'late',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label: 'system_u:system_r:svirt_t:s0:c1,c2',
      startedAt: 5_000,
    });
    const [d] = queryDenials(t.store);
    expect(d?.source.allocation?.name).toBe('late');
    expect(d?.kind).toBe('unlabeled-target');
  });

  it('a reused pair: each denial goes to the VM that held the label at that moment', async () => {
    const label = 'system_u:system_r:svirt_t:s0:c5,c6';
    allocateLabel(t.store, {
      uuid: A,
      name: 'first',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label,
      startedAt: 1_000,
    });
    releaseAllocation(t.store, 'hv1', A, 2_000);
    allocateLabel(t.store, {
      uuid: B,
      name: 'second',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label,
      startedAt: 2_000,
    });
    // The kernel prints this pair as c5.c6: the same set.
    await ingest([
      avcLine(1, 1_500, 'c5.c6', 'system_u:object_r:default_t:s0'),
      avcLine(2, 2_000, 'c5,c6', 'system_u:object_r:default_t:s0'),
      avcLine(3, 9_000, 'c5,c6', 'system_u:object_r:default_t:s0'),
    ]);
    const byTime = queryDenials(t.store).map((d) => [d.time, d.source.allocation?.name]);
    expect(byTime).toEqual([
      [9_000, 'second'],
      [2_000, 'second'],
      [1_500, 'first'],
    ]);
    expect(queryDenials(t.store, { vmUuid: A }).map((d) => d.time)).toEqual([1_500]);
    expect(queryDenials(t.store, { vmUuid: B, since: 3_000 }).map((d) => d.time)).toEqual([9_000]);
  });

  it('an AppArmor denial belongs to the holder of its profile the same way on every path (a static label too)', async () => {
    const aa = (serial: number, timeMs: number, profile: string) =>
      `node=hv1 type=AVC msg=audit(${Math.floor(timeMs / 1000)}.${String(timeMs % 1000).padStart(3, '0')}:${serial}): apparmor="DENIED" operation="open" profile="${profile}" name="/run/udev/data/c189:1" pid=7 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=0`;
    allocateLabel(t.store, {
      uuid: A,
      name: 'custom',
      host: 'hv1',
      model: 'apparmor',
      source: 'cli',
      label: 'custom-qemu',
      startedAt: 1_000,
    });
    // A libvirt-<uuid> profile whose VM recorded another label is not that VM's.
    allocateLabel(t.store, {
      uuid: B,
      name: 'other',
      host: 'hv1',
      model: 'apparmor',
      source: 'cli',
      label: 'libvirt-elsewhere',
      startedAt: 1_000,
    });
    await ingest([aa(1, 2_000, 'custom-qemu'), aa(2, 3_000, `libvirt-${B}`)]);
    const all = queryDenials(t.store);
    const byId = Object.fromEntries(all.map((d) => [d.serial, d]));
    expect([byId[1]?.source.allocation?.name, byId[1]?.kind]).toEqual(['custom', 'apparmor-profile']);
    expect([byId[2]?.source.allocation?.name ?? null, byId[2]?.kind]).toEqual([null, 'unattributed']);
    for (const d of all) {
      expect(getDenial(t.store, d.id)?.source.allocation?.name).toBe(d.source.allocation?.name);
      expect(explainStoredDenial(t.store, d.id)?.denial.kind).toBe(d.kind);
    }
    expect(queryDenials(t.store, { vmUuid: A }).map((d) => [d.serial, d.kind])).toEqual([[1, 'apparmor-profile']]);
    expect(queryDenials(t.store, { vmUuid: B })).toEqual([]);
    const custom = summarizeVm(t.store, A, 'custom');
    expect(custom.groups.map((g) => [g.kind, g.count])).toEqual([['apparmor-profile', 1]]);
  });

  it('another host is another namespace', async () => {
    allocateLabel(t.store, {
      uuid: A,
      name: 'a',
      host: 'hv2',
      model: 'selinux',
      source: 'cli',
      label: 'system_u:system_r:svirt_t:s0:c1,c2',
      startedAt: 0,
    });
    await ingest([avcLine(1, 1_000, 'c1,c2', 'system_u:object_r:default_t:s0')]);
    expect(queryDenials(t.store)[0]?.source.allocation).toBeNull();
  });
});

describe("a VM's denials, page by page", () => {
  it('pages across allocations (with equal times) give exactly the unpaged list, in order', async () => {
    // Four allocations of A with two labels, one left open, and other labels' denials in between.
    const spans: [number, number | null, string][] = [
      [1_000, 2_000, 'c1,c2'],
      [2_000, 3_000, 'c3,c4'],
      [3_000, 4_000, 'c1,c2'],
      [4_000, null, 'c3,c4'],
    ];
    for (const [start, end, cats] of spans) {
      allocateSelinux(t.store, { uuid: A, name: 'a', categories: cats, startedAt: start });
      if (end !== null) releaseAllocation(t.store, 'hv1', A, end);
    }
    // A second host's allocation overlapping them in time (a migration's destination).
    allocateSelinux(t.store, { uuid: A, name: 'a', categories: 'c5,c6', host: 'hv2', startedAt: 2_500 });
    releaseAllocation(t.store, 'hv2', A, 4_500);
    const lines: string[] = [];
    let serial = 0;
    for (let time = 900; time < 5_000; time += 50) {
      lines.push(
        avcLine(++serial, time + 1, 'c5,c6', 'system_u:object_r:svirt_image_t:s0').replace('node=hv1', 'node=hv2'),
      );
      // Each label twice at the same millisecond: the id breaks the tie.
      for (const cats of ['c1,c2', 'c3,c4', 'c7,c8', 'c1,c2', 'c3,c4']) {
        lines.push(avcLine(++serial, time, cats, 'system_u:object_r:svirt_image_t:s0'));
      }
    }
    await ingest(lines);
    const all = queryDenials(t.store, { vmUuid: A, since: 1_200 }).map((d) => d.id);
    expect(all.length).toBeGreaterThan(100);
    for (const limit of [1, 7, 50]) {
      const paged: number[] = [];
      let before: { time: number; id: number } | undefined;
      for (;;) {
        const page = queryDenials(t.store, { vmUuid: A, since: 1_200, limit, ...(before && { before }) });
        paged.push(...page.map((d) => d.id));
        const last = page[page.length - 1];
        if (page.length < limit || !last) break;
        before = { time: last.time, id: last.id };
      }
      expect(paged).toEqual(all);
    }
    expect(queryDenials(t.store, { vmUuid: A, limit: 3 }).map((d) => d.time)).toEqual([4_950, 4_950, 4_900]);
  });
});

describe('every kind, on the incident scenario', () => {
  it('classifies and explains each denial of the story', async () => {
    const log = buildIncidentScenario(t.store, t.dir);
    await ingestFiles(t.store, [log], { localHost: INCIDENT_HOST });
    const all = queryDenials(t.store);
    const kinds = (vm: string) =>
      [...new Set(all.filter((d) => d.source.allocation?.name === vm).map((d) => d.kind))].sort();
    expect(kinds('web1')).toEqual(['cross-vm']);
    expect(kinds('db1')).toEqual(['unlabeled-target']);
    expect(kinds('web2')).toEqual(['stale-label']);
    expect(kinds('build')).toEqual(['policy', 'shared-resource']);
    expect(kinds('desk')).toEqual(['apparmor-profile']);
    expect(kinds('mail')).toEqual(['policy']); // learned from libvirt's VIRT_MACHINE_ID
    const unattributed = all.filter((d) => d.kind === 'unattributed');
    expect(unattributed.map((d) => d.source.categories)).toEqual(['c9,c10']);
    const hostNoise = all.filter((d) => d.source.allocation === null && d.kind === 'policy').map((d) => d.source.comm);
    expect(hostNoise.sort()).toEqual(['httpd', 'systemd']);

    const cross = all.find((d) => d.kind === 'cross-vm');
    expect(cross?.target.allocation?.name).toBe('db1');
    const crossText = explainStoredDenial(t.store, cross?.id as number);
    expect(crossText?.explanation.cause).toMatch(
      /VM web1 tried read write on file .*db1.qcow2, which is labelled for VM db1/,
    );
    const nfs = all.find((d) => d.kind === 'unlabeled-target');
    const nfsText = explainStoredDenial(t.store, nfs?.id as number);
    expect(nfsText?.expected?.relabel).toBe(false);
    expect(nfsText?.explanation.cause).toMatch(/relabel='no'/);
    expect(nfsText?.explanation.fix.join()).toMatch(/virt_use_nfs/);
    const stale = all.find((d) => d.kind === 'stale-label');
    expect(stale?.target.formerHolder?.name).toBe('web1-old');
    const permissive = all.filter((d) => d.permissive);
    expect(permissive.map((d) => [d.kind, d.perms.join()])).toEqual([
      ['policy', 'execmem'],
      ['policy', 'execmem'],
    ]);
    expect(explainStoredDenial(t.store, permissive[0]?.id as number)?.explanation.note).toMatch(
      /would be denied when enforcing/,
    );

    const summary = summarizeVm(t.store, INCIDENT_VMS.build, 'build');
    expect(summary.groups.map((g) => [g.kind, g.count, g.permissive])).toEqual([
      ['shared-resource', 1, 0],
      ['policy', 2, 2],
    ]);
  });
});

describe('query plans', () => {
  it('attribution searches allocation_by_label; --vm searches denial_by_source', () => {
    const plan = (sql: string, params: Record<string, unknown> = {}) =>
      (t.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[])
        .map((r) => r.detail)
        .join('\n');
    const attribution = plan(
      `SELECT (SELECT a.id FROM allocation a WHERE a.host_id = d.host_id AND a.categories = d.scategories
         AND a.started_at <= d.time AND COALESCE(a.ended_at, 9223372036854775807) > d.time ORDER BY a.started_at DESC LIMIT 1)
       FROM denial d`,
    );
    expect(attribution).toMatch(
      /SEARCH a USING INDEX allocation_by_label \(host_id=\? AND categories=\? AND started_at<\?\)/,
    );
    const byVm = plan(
      `SELECT d.id FROM denial d WHERE d.host_id = 1 AND d.scategories = 'c1,c2' AND d.time >= 0 AND d.time < 10`,
    );
    expect(byVm).toMatch(
      /SEARCH r USING (COVERING )?INDEX denial_by_source \(host_id=\? AND scategories=\? AND time>\? AND time<\?\)/,
    );
    // The view `denial` reads each occurrence's shape by its id (migration 0010).
    expect(byVm).toMatch(/SEARCH s USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    // A summary counts by shape from the index alone, then reads one shape per group.
    const summary = plan(
      `SELECT d.shape_id, count(*) FROM denial_row d
       WHERE d.host_id = 1 AND d.scategories = 'c1,c2' AND d.time >= 0 AND d.time < 10 AND d.granted = 0
         AND (d.tcategories IS NULL OR d.tcategories = '') GROUP BY d.shape_id`,
    );
    expect(summary).toMatch(/SEARCH d USING COVERING INDEX denial_by_source/);
    // The profile index holds AppArmor denials only (migration 0005); a profile match still uses it.
    const byProfile = plan(
      `SELECT d.id FROM denial d WHERE ${allocationLabelMatch(true)} AND d.time >= 0 AND d.time < 10`,
      { host: 'hv1', key: 'libvirt-x' },
    );
    // An event's denials (denialsOfEvent) are found through denial_by_time (no denial_by_event since 0005).
    const ofEvent = plan(
      `SELECT d.id FROM denial d JOIN host h ON h.id = d.host_id WHERE h.name = 'hv1' AND d.time = 5 AND d.serial = 7`,
    );
    expect(ofEvent).toMatch(/SEARCH r USING INDEX denial_by_time \(time=\?\)/);
    expect(byProfile).toMatch(/SEARCH r USING INDEX denial_by_profile \(aa_profile=\? AND time>\? AND time<\?\)/);
    // AppArmor attribution: the holder of the profile, through allocation_by_profile (migration 0006).
    const aaAttribution = plan(
      `SELECT (SELECT a.id FROM allocation a WHERE a.host_id = d.host_id AND a.model = 'apparmor' AND a.label = d.aa_profile
         AND a.started_at <= d.time AND COALESCE(a.ended_at, 9223372036854775807) > d.time ORDER BY a.started_at DESC LIMIT 1)
       FROM denial d`,
    );
    expect(aaAttribution).toMatch(
      /SEARCH a USING INDEX allocation_by_profile \(host_id=\? AND label=\? AND started_at<\?\)/,
    );
  });
});
