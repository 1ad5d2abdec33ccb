/**
 * Our SELinux denials against `aureport --avc`, audit-userspace's own denial report (one
 * row per AVC and USER_AVC: subject, class, permissions, object, result, event serial):
 * for every corpus file, the same rows. This is also the peer bench/parse measures "the
 * same job" against, so the comparison there is of equal work.
 *
 * aureport lists policy-load notices (`avc:  received policyload notice`) as rows with
 * (null) fields; they are not denials, and are left out of its side. AppArmor denials
 * are not in its report, so only our SELinux ones are compared. Files where aureport
 * reads less than we do are listed below with why.
 */

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditStream } from '../../collector/audit-stream.js';
import { CORPUS, corpusAvailable } from '../helpers/fixtures.js';

const AUREPORT_READS_LESS: Record<string, string> = {
  'field_avcs.txt': 'dmesg, syslog and journald lines, and ausearch output with PROCTITLE first',
  'setroubleshoot__data-audit-qemu_blk_image.log': 'the old host= prefix: aureport reads no event',
  'selinux__python-audit2allow-test.log': 'the same host= lines',
  'setroubleshoot__data-audit-allow_postfix_local_write_mail_spool.log':
    "a hand-written AVC with its fields out of the kernel's order (comm before pid, tclass before tcontext): aureport drops it, and reports it once the fields are put in the kernel's order",
};

/** `serial scontext tclass perms tcontext result` per denial, sorted. */
function aureportRows(file: string): string[] {
  const r = spawnSync('aureport', ['-if', file, '--avc'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  // It exits 1 when the file holds no AVC at all.
  if (r.status !== 0 && r.status !== 1) throw new Error(`aureport failed (${r.status}): ${r.stderr}`);
  const out = r.stdout;
  const rows: string[] = [];
  for (const line of out.split('\n')) {
    if (!/^\d+\. /.test(line)) continue;
    const t = line.trim().split(/\s+/);
    // N. date time comm… subj syscall class perm… obj result serial: comm and the permission
    // list may hold spaces, so the subject is found as the first context after the time.
    const subj = t.findIndex((x, i) => i > 3 && (x === '(null)' || /^[^:\s]+:[^:\s]+:[^:\s]+/.test(x)));
    const [serial, result, obj] = [t.at(-1), t.at(-2), t.at(-3)];
    const tclass = t[subj + 2];
    if (t[subj] === '(null)' || tclass === '(null)') continue; // a policy-load notice, or no SELinux fields
    rows.push([serial, t[subj], tclass, t.slice(subj + 3, -3).join(','), obj, result].join(' '));
  }
  return rows.sort();
}

function ourRows(file: string): string[] {
  const rows: string[] = [];
  const stream = new AuditStream({
    event: (e, f) => {
      f.denials.forEach((d, i) => {
        if (d.model !== 'selinux') return;
        // aureport's subject of a USER_AVC is the logging process's subj= (dbus-daemon, …),
        // not the scontext of the refused sender that we attribute it to; compare as it reports.
        const record = f.denialRecords[i];
        const subject = d.recordType === 'USER_AVC' ? (record?.fields.get('subj') ?? null) : d.source.context;
        const result = d.granted ? 'granted' : 'denied';
        rows.push([e.serial, subject, d.tclass, d.perms.join(','), d.target.context, result].join(' '));
      });
    },
    unparsed: () => undefined,
  });
  stream.push(readFileSync(file));
  stream.end();
  return rows.sort();
}

const available = corpusAvailable() && !spawnSync('aureport', ['--version']).error;
if (!available)
  console.log(`skipped: aureport differential test needs aureport (apt-get install auditd) and ${CORPUS}`);
const files = available ? readdirSync(CORPUS).filter((f) => f !== 'README.md') : [];

describe.runIf(available)('against aureport --avc', () => {
  it.each(files.filter((f) => !(f in AUREPORT_READS_LESS)))('%s', (file) => {
    expect(ourRows(join(CORPUS, file))).toEqual(aureportRows(join(CORPUS, file)));
  });

  it.each(Object.keys(AUREPORT_READS_LESS))('%s: every row aureport reads, we read too', (file) => {
    const ours = ourRows(join(CORPUS, file));
    const theirs = aureportRows(join(CORPUS, file));
    expect(ours.length, 'listed as reading less, so it must').toBeGreaterThan(theirs.length);
    const left = [...ours];
    for (const row of theirs) {
      const at = left.indexOf(row);
      expect(at, row).not.toBe(-1);
      left.splice(at, 1);
    }
  });
});
