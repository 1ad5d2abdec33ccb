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
  const does = 'ausearch -if FILE -m AVC --raw > /dev/null (parse every event, print AVC ones)';
  const probe = spawnSync('ausearch', ['--version'], { stdio: 'ignore' });
  if (probe.error)
    return { name: 'ausearch', does, ms: null, skipped: 'ausearch not installed (apt-get install auditd)' };
  const start = process.hrtime.bigint();
  const r = spawnSync('ausearch', ['-if', file, '-m', 'AVC', '--raw'], {
    stdio: ['ignore', 'ignore', 'ignore'],
    maxBuffer: 1 << 30,
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  // ausearch exits 1 when nothing matched; anything else is a failure.
  if (r.status !== 0 && r.status !== 1)
    return { name: 'ausearch', does, ms: null, skipped: `ausearch failed with status ${r.status}` };
  return { name: 'ausearch', does, ms };
}
