/** A fresh database in a temporary directory per test, removed afterwards. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type OpenStoreOptions, openStore, type Store } from '../../store/store.js';

export interface TempStore {
  store: Store;
  dir: string;
  path: string;
  cleanup(): void;
}

export function tempDir(prefix = 'svirt-audit-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openTempStore(options: OpenStoreOptions = {}): TempStore {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'audit.db');
  const store = openStore(path, options);
  return {
    store,
    dir,
    path,
    cleanup: () => {
      store.close();
      cleanup();
    },
  };
}
