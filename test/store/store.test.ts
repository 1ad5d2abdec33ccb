import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { SvirtAuditError } from '../../core/errors.js';
import { insertAllocation } from '../../store/allocations.js';
import { readVersion, SCHEMA_VERSION } from '../../store/migrate.js';
import { openStore } from '../../store/store.js';
import { tempDir } from '../helpers/temp-store.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function scratch(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

describe('openStore', () => {
  it('creates the file 0600 in a 0700 directory, in WAL mode, at the current schema', () => {
    const path = join(scratch(), 'state', 'nested', 'audit.db');
    const store = openStore(path);
    cleanups.push(() => store.close());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('page_size', { simple: true })).toBe(16384);
    expect(readVersion(store)).toBe(SCHEMA_VERSION);
    const applied = store.db.prepare('SELECT version, name FROM schema_migration ORDER BY version').all();
    expect(applied).toEqual([
      { version: 1, name: '0001-initial' },
      { version: 2, name: '0002-audit-trail' },
      { version: 3, name: '0003-allocation-generation' },
      { version: 4, name: '0004-answer-cache' },
      { version: 5, name: '0005-leaner-denial-indexes' },
      { version: 6, name: '0006-allocation-by-profile' },
      { version: 7, name: '0007-followed-path' },
      { version: 8, name: '0008-retention' },
      { version: 9, name: '0009-raw-blocks' },
      { version: 10, name: '0010-denial-shapes' },
      { version: 11, name: '0011-unparsed-line-time' },
      { version: 12, name: '0012-allocation-changes' },
      { version: 13, name: '0013-alerts' },
    ]);
  });

  it('upgrades a file left at an older version (here: an empty version-0 file)', () => {
    const path = join(scratch(), 'old.db');
    const raw = new Database(path);
    raw.pragma('user_version = 0');
    raw.close();
    const store = openStore(path);
    cleanups.push(() => store.close());
    expect(readVersion(store)).toBe(SCHEMA_VERSION);
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'allocation'").get()).toBeTruthy();
  });

  it('keeps the page size of an existing file (only new files get 16 KiB pages)', () => {
    const path = join(scratch(), 'small-pages.db');
    const raw = new Database(path);
    raw.pragma('page_size = 4096');
    raw.exec('CREATE TABLE unrelated (x)');
    raw.close();
    const store = openStore(path);
    cleanups.push(() => store.close());
    expect(store.db.pragma('page_size', { simple: true })).toBe(4096);
    expect(readVersion(store)).toBe(SCHEMA_VERSION);
  });

  it('refuses a file written by a newer release with a clear message', () => {
    const path = join(scratch(), 'new.db');
    const store = openStore(path);
    store.db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    store.close();
    expect(() => openStore(path)).toThrow(
      new RegExp(`schema version ${SCHEMA_VERSION + 5}.*knows only up to ${SCHEMA_VERSION}`),
    );
    try {
      openStore(path);
    } catch (error) {
      expect((error as SvirtAuditError).code).toBe('DB_TOO_NEW');
      expect((error as SvirtAuditError).hint).toMatch(/upgrade svirt-audit/);
    }
  });

  it('reports a path it cannot create as DB_OPEN', () => {
    const blocker = join(scratch(), 'file');
    openStore(blocker).close();
    expect(() => openStore(join(blocker, 'sub', 'audit.db'))).toThrow(/cannot create database/);
  });

  it('the label-holder lookup searches the (host, categories, started_at) index', () => {
    const store = openStore(join(scratch(), 'plan.db'));
    cleanups.push(() => store.close());
    insertAllocation(store, {
      host: 'hv1',
      uuid: '00000000-0000-0000-0000-000000000001',
      name: 'a',
      model: 'selinux',
      label: 'system_u:system_r:svirt_t:s0:c1,c2',
      imageLabel: null,
      categories: 'c1,c2',
      pid: null,
      source: 'cli',
      startedAt: 1000,
    });
    const plan = store.db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT id FROM allocation
         WHERE host_id = 1 AND categories = 'c1,c2' AND started_at < 5000
           AND COALESCE(ended_at, 9223372036854775807) > 2000`,
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(
      /SEARCH allocation USING INDEX allocation_by_label \(host_id=\? AND categories=\? AND started_at<\?\)/,
    );
  });
});
