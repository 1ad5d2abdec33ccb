/**
 * AppArmor attribution looks the holder of a profile up by its recorded label, as the
 * per-VM answers do: a static label (`alloc --model apparmor --label custom-qemu`) is not
 * `libvirt-<uuid>`, and reading the uuid out of the profile name attributed the same
 * denial differently depending on the query. This index is that lookup (host + profile +
 * time), for AppArmor allocations alone.
 */

import type Database from 'better-sqlite3';

export function up(db: Database.Database): void {
  db.exec(`
    CREATE INDEX allocation_by_profile ON allocation (host_id, label, started_at) WHERE model = 'apparmor';
  `);
}
