import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { allocateLabel } from '../../allocation/allocate.js';
import { openStore } from '../../store/store.js';
import { CLI, requireBuilt } from '../helpers/built.js';
import { eventsText } from '../helpers/synthetic-log.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
beforeAll(() => requireBuilt());
afterAll(() => scratch.cleanup());

describe('watch', () => {
  it('prints a denial, attributed, once it is stored by another process', async () => {
    const db = join(scratch.dir, 'watch.db');
    const store = openStore(db);
    allocateLabel(store, {
      uuid: '4dea22b3-1d52-d8f3-2516-782e98ab3fa0',
      name: 'web1',
      host: 'hv1',
      model: 'selinux',
      source: 'cli',
      label: 'system_u:system_r:svirt_t:s0:c1,c501',
      startedAt: 0,
    });
    const child = spawn(process.execPath, [CLI, 'watch', '--db', db, '--json', '--interval', '20'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      // watch says it is watching on stderr before its first look: then store a denial.
      await once(child.stderr, 'data');
      const log = join(scratch.dir, 'w.log');
      writeFileSync(log, eventsText(1, 1)); // event 1 runs as svirt_t:s0:c1,c501
      await ingestFiles(store, [log], { localHost: 'hv1' });
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const d = JSON.parse(line);
      expect(d).toMatchObject({ kind: 'unlabeled-target', source: { vm: { name: 'web1' }, categories: 'c1,c501' } });
    } finally {
      child.kill('SIGTERM');
      store.close();
    }
  });
});
