/**
 * The peers our benches compare against, in one place (as better-sqlite3's
 * benchmark/drivers.js does). A peer that is not installed says why it was skipped.
 */

import { spawnSync } from 'node:child_process';

export interface PeerRun {
  name: string;
  /** What the peer does, so the comparison is read for what it is. */
  does: string;
  ms: number | null;
  skipped?: string;
}

/** `ausearch -if FILE -m AVC --raw`: scans the whole file, prints the AVC events' raw records. */
export function ausearchAvc(file: string): PeerRun {
  return timedAuditTool(
    'ausearch',
    ['-if', file, '-m', 'AVC', '--raw'],
    'ausearch -if FILE -m AVC --raw > /dev/null (group every event, print the AVC ones verbatim)',
  );
}

/**
 * `aureport -if FILE --avc`: the reference tools' own denial extraction (one report row
 * per AVC and USER_AVC with comm, subject, syscall, class, permission, object, result),
 * the closest thing in audit-userspace to what our parser does per denial.
 */
export function aureportAvc(file: string): PeerRun {
  return timedAuditTool(
    'aureport',
    ['-if', file, '--avc'],
    'aureport -if FILE --avc > /dev/null (read every AVC field into a report row)',
  );
}

/** Rows of `aureport -if FILE --avc` (numbered lines), to show it reports what we extract. */
export function aureportAvcRows(file: string): number | null {
  const r = spawnSync('aureport', ['-if', file, '--avc'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error || (r.status !== 0 && r.status !== 1)) return null;
  let rows = 0;
  for (const line of r.stdout.split('\n')) if (/^\d+\. /.test(line)) rows++;
  return rows;
}

function timedAuditTool(name: string, args: string[], does: string): PeerRun {
  const probe = spawnSync(name, ['--version'], { stdio: 'ignore' });
  if (probe.error) return { name, does, ms: null, skipped: `${name} not installed (apt-get install auditd)` };
  const start = process.hrtime.bigint();
  const r = spawnSync(name, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // Both exit 1 when nothing matched; anything else is a failure.
  if (r.status !== 0 && r.status !== 1)
    return { name, does, ms: null, skipped: `${name} failed with status ${r.status}` };
  return { name, does, ms };
}
