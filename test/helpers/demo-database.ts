/** The demo's database in a scratch directory, for tests of the read commands. */

import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cli } from './cli-run.js';
import { tempDir } from './temp-store.js';

export interface DemoDatabase {
  db: string;
  /** What `demo` printed. */
  output: string;
  cleanup(): void;
}

export async function demoDatabase(): Promise<DemoDatabase> {
  const scratch = tempDir();
  const db = join(scratch.dir, 'demo.db');
  const output = (await cli(['demo', '--db', db])).stdout;
  return {
    db,
    output,
    cleanup() {
      scratch.cleanup();
      // The demo keeps its audit log in a temporary directory of its own (its next commands use it).
      const log = /ingested from (\S+)/.exec(output)?.[1];
      if (log) rmSync(dirname(log), { recursive: true, force: true });
    },
  };
}
