import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli-run.js';
import { type DemoDatabase, demoDatabase } from '../helpers/demo-database.js';

let demo: DemoDatabase;
let db = '';
let demoOut = '';
beforeAll(async () => {
  demo = await demoDatabase();
  ({ db, output: demoOut } = demo);
});
afterAll(() => demo.cleanup());

describe('the read commands on the demo', () => {
  it('demo prints the summary, cross-VM first, and what to try next', () => {
    expect(demoOut).toMatch(/web1 \(4dea22b3-1d52-d8f3-2516-782e98ab3fa0\): 3 denial\(s\)\nKIND\s+COUNT/);
    expect(demoOut.indexOf('cross-vm')).toBeLessThan(demoOut.indexOf('unlabeled-target'));
    expect(demoOut).toMatch(/try next:\n {2}svirt-audit denials --db/);
  });

  it('denials --json prints one array of the documented shape', async () => {
    const r = await cli(['denials', '--db', db, '--json']);
    const list = JSON.parse(r.stdout) as Record<string, unknown>[];
    // 3 cross-VM, 4 NFS, 1 stale, 1 shared, 2 execmem, 1 unattributed, 2 host noise, 2 AppArmor, 1 mail.
    expect(list.length).toBe(17);
    const cross = list.find((d) => d.kind === 'cross-vm') as Record<string, Record<string, unknown>>;
    expect(Object.keys(cross)).toEqual(
      expect.arrayContaining([
        'id',
        'time',
        'host',
        'serial',
        'model',
        'kind',
        'permissive',
        'perms',
        'tclass',
        'source',
        'target',
      ]),
    );
    expect(cross.source).toMatchObject({
      type: 'svirt_t',
      categories: 'c101,c202',
      comm: 'qemu-kvm',
      vm: { uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0', name: 'web1' },
    });
    expect(cross.target).toMatchObject({
      type: 'svirt_image_t',
      categories: 'c303,c404',
      path: '/var/lib/libvirt/images/db1.qcow2',
      vm: { name: 'db1' },
    });
    expect(cross.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('filters by VM, kind and time; the terminal view shows the newest 50', async () => {
    const byVm = JSON.parse((await cli(['denials', '--db', db, '--vm', 'db1', '--json'])).stdout) as { kind: string }[];
    expect(byVm.map((d) => d.kind)).toEqual([
      'unlabeled-target',
      'unlabeled-target',
      'unlabeled-target',
      'unlabeled-target',
    ]);
    const cross = JSON.parse((await cli(['denials', '--db', db, '--kind', 'cross-vm', '--json'])).stdout) as unknown[];
    expect(cross).toHaveLength(3);
    const future = JSON.parse(
      (await cli(['denials', '--db', db, '--since', '2099-01-01', '--json'])).stdout,
    ) as unknown[];
    expect(future).toEqual([]);
    const table = await cli(['denials', '--db', db, '--limit', '2']);
    expect(table.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('a --since after --until is exit 2 with what to do, in every command that takes both', async () => {
    for (const command of [['denials'], ['summary'], ['report', '--vm', 'web1']]) {
      const r = await cli([...command, '--db', db, '--since', '2026-11-22', '--until', '2026-11-01']);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(
        'svirt-audit: since 2026-11-22T00:00:00.000Z is after until 2026-11-01T00:00:00.000Z\n  swap them, or leave one out\n',
      );
    }
  });

  it('--csv has a header and one row per denial', async () => {
    const r = await cli(['denials', '--db', db, '--csv', '--kind', 'cross-vm']);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'id,time,host,serial,kind,vm,vm_uuid,model,permissive,perms,tclass,source_context,comm,pid,exe,target_context,target_path,target_vm',
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/,cross-vm,web1,4dea22b3-1d52-d8f3-2516-782e98ab3fa0,selinux,0,read write,file,.*,db1$/);
  });

  it('explain shows attribution, cause, fix and the raw records; an unknown id exits 4', async () => {
    const cross = (
      JSON.parse((await cli(['denials', '--db', db, '--kind', 'cross-vm', '--json'])).stdout) as { id: number }[]
    )[0];
    const r = await cli(['explain', '--db', db, String(cross?.id)]);
    expect(r.stdout).toMatch(/cross-vm/);
    expect(r.stdout).toMatch(
      /VM web1 \(4dea22b3-1d52-d8f3-2516-782e98ab3fa0\) held system_u:system_r:svirt_t:s0:c101,c202/,
    );
    expect(r.stdout).toMatch(/why:\n {2}VM web1 tried read write/);
    expect(r.stdout).toMatch(/fix:\n {2}- /);
    expect(r.stdout).toMatch(/raw audit records:\n {2}type=AVC msg=audit\(/);
    const json = JSON.parse((await cli(['explain', '--db', db, '--json', String(cross?.id)])).stdout);
    expect(json.raw[0]).toMatch(/^type=AVC/);
    expect(json.explanation.fix.length).toBeGreaterThan(0);
    const missing = await cli(['explain', '--db', db, '99999']);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/no denial with id 99999/);
  });

  it('summary --vm and vms/allocations --json', async () => {
    const s = JSON.parse((await cli(['summary', '--db', db, '--vm', 'build', '--json'])).stdout);
    expect(s[0].groups.map((g: { kind: string; count: number }) => [g.kind, g.count])).toEqual([
      ['shared-resource', 1],
      ['policy', 2],
    ]);
    const unknown = await cli(['summary', '--db', db, '--vm', 'nosuchvm']);
    expect(unknown.status).toBe(4);
    const vms = JSON.parse((await cli(['vms', '--db', db, '--json'])).stdout) as { name: string }[];
    expect(vms.map((v) => v.name).sort()).toEqual(['build', 'db1', 'desk', 'mail', 'web1', 'web1-old', 'web2']);
  });
});

describe('report and report verify on the command line', () => {
  it('writes a report file (0600) that verifies, and says ALTERED (exit 1) once edited', async () => {
    const { readFileSync, statSync, writeFileSync } = await import('node:fs');
    const out = join(dirname(db), 'web1.html');
    // An existing readable file is replaced by a private one.
    writeFileSync(out, 'old', { mode: 0o644 });
    const r = await cli(['report', '--db', db, '--vm', 'web1', '--format', 'html', '--out', out]);
    expect(r.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const ok = await cli(['report', 'verify', out]);
    expect(ok).toMatchObject({ status: 0 });
    expect(ok.stdout).toMatch(/^ok: .* is unaltered \(html;/);
    writeFileSync(out, readFileSync(out, 'utf8').replace('pid=4101', 'pid=4102'));
    const bad = await cli(['report', 'verify', out]);
    expect(bad.status).toBe(7);
    expect(bad.stdout).toMatch(/ALTERED: .*the evidence section and the report no longer match/);
  });

  it('a csv --out FILE gets FILE.sha256 (sha256sum checks it, so does verify); an edited row is ALTERED', async () => {
    const { execFileSync } = await import('node:child_process');
    const { readFileSync, rmSync, statSync, writeFileSync } = await import('node:fs');
    const out = join(dirname(db), 'web1.csv');
    const r = await cli(['report', '--db', db, '--vm', 'web1', '--format', 'csv', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`its SHA-256 in ${out}.sha256`);
    expect(statSync(`${out}.sha256`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${out}.sha256`, 'utf8')).toMatch(/^[0-9a-f]{64} {2}web1\.csv\n$/);
    // The coreutils tool reads the sidecar as it is.
    expect(execFileSync('sha256sum', ['-c', 'web1.csv.sha256'], { cwd: dirname(db) }).toString()).toBe(
      'web1.csv: OK\n',
    );
    const ok = await cli(['report', 'verify', out]);
    expect(ok).toMatchObject({ status: 0 });
    expect(ok.stdout).toMatch(/^ok: .* is unaltered \(csv;/);
    writeFileSync(out, readFileSync(out, 'utf8').replace('web1', 'web2'));
    const bad = await cli(['report', 'verify', out]);
    expect(bad.status).toBe(7);
    expect(bad.stdout).toMatch(/ALTERED: .*web1\.csv: its SHA-256 .* is not the .* in .*web1\.csv\.sha256/);
    rmSync(`${out}.sha256`);
    const lost = await cli(['report', 'verify', out]);
    expect(lost.status).toBe(2);
    expect(lost.stderr).toMatch(/is a CSV report and .*web1\.csv\.sha256 is missing/);
  });

  it('a CSV is checked against its FILE.sha256 whatever its data holds: an integrity marker in a cell, or a Markdown block appended', async () => {
    const { createHash } = await import('node:crypto');
    const { execFileSync } = await import('node:child_process');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const out = join(dirname(db), 'marker.csv');
    expect((await cli(['report', '--db', db, '--vm', 'web1', '--format', 'csv', '--out', out])).status).toBe(0);
    // A cell holding the Markdown integrity marker (a file name can be anything): sha256sum and verify agree.
    const withMarker = `${readFileSync(out, 'utf8')}99,x,hv1,1,selinux,policy,false,read,file,,,,,,,,,,,,<!-- integrity -->\n`;
    writeFileSync(out, withMarker);
    writeFileSync(`${out}.sha256`, `${createHash('sha256').update(withMarker).digest('hex')}  marker.csv\n`);
    expect(execFileSync('sha256sum', ['-c', 'marker.csv.sha256'], { cwd: dirname(db) }).toString()).toBe(
      'marker.csv: OK\n',
    );
    const ok = await cli(['report', 'verify', out]);
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
    // An edited CSV with a block of self-consistent hashes appended: still ALTERED, as sha256sum says.
    const edited = withMarker.replace('web1', 'web9');
    const fake = (body: string) => {
      const evidence = '';
      const digest = (s: string) => createHash('sha256').update(s).digest('hex');
      const before = `${body}<!-- evidence:begin -->\n${evidence}<!-- evidence:end -->\n\n`;
      return `${before}<!-- integrity -->\n## Integrity\n\n- Evidence SHA-256: \`${digest(evidence)}\`\n- Report SHA-256: \`${digest(before)}\`\n`;
    };
    writeFileSync(out, fake(edited));
    const bad = await cli(['report', 'verify', out]);
    expect(bad.status).toBe(7);
    expect(bad.stdout).toMatch(/^ALTERED: /);
  });

  it('a file that is no report is exit 2 with what it is, not "this is a bug"', async () => {
    const { writeFileSync } = await import('node:fs');
    const other = join(dirname(db), 'notes.txt');
    writeFileSync(other, 'just notes\n');
    const r = await cli(['report', 'verify', other]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a svirt-audit report/);
  });

  it('a csv on stdout: its SHA-256 goes to stderr', async () => {
    const { createHash } = await import('node:crypto');
    const r = await cli(['report', '--db', db, '--vm', 'web1', '--format', 'csv']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`SHA-256 of this CSV: ${createHash('sha256').update(r.stdout).digest('hex')}\n`);
  });
});

describe('serve options', () => {
  it('--read-threads takes 0 to 64 and says so otherwise (before opening anything)', async () => {
    for (const bad of ['65', '-1', 'two']) {
      const r = await cli(['serve', '--db', db, '--read-threads', bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/--read-threads/);
    }
    const help = await cli(['serve', '--help']);
    expect(help.stdout).toMatch(/--read-threads <n>/);
  });
});
