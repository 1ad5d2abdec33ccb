import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { queryDenials } from '../../store/denial-query.js';
import { contextToStore, impliedContext } from '../../store/implied-context.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

const avc = (serial: number, scontext: string, tcontext: string) =>
  `type=AVC msg=audit(1000.${String(serial).padStart(3, '0')}:${serial}): avc:  denied  { read } for  pid=7 comm="qemu-kvm" name="x" dev="dm-0" ino=1 scontext=${scontext} tcontext=${tcontext} tclass=file permissive=0`;

describe('contexts a denial row implies', () => {
  it('are stored as NULL only when the type and categories rebuild them exactly', () => {
    expect(impliedContext('source', 'svirt_t', 'c1,c2')).toBe('system_u:system_r:svirt_t:s0:c1,c2');
    expect(impliedContext('target', 'default_t', '')).toBe('system_u:object_r:default_t:s0');
    expect(contextToStore('source', 'system_u:system_r:svirt_t:s0:c1,c2', 'svirt_t', 'c1,c2')).toBeNull();
    expect(contextToStore('source', 'unconfined_u:system_r:svirt_t:s0:c1,c2', 'svirt_t', 'c1,c2')).toBe(
      'unconfined_u:system_r:svirt_t:s0:c1,c2',
    );
    expect(contextToStore('target', 'system_u:object_r:svirt_image_t:s0:c1.c3', 'svirt_image_t', 'c1,c2,c3')).toBe(
      'system_u:object_r:svirt_image_t:s0:c1.c3',
    );
    expect(contextToStore('source', null, null, null)).toBeNull();
  });

  it('every context comes back from the store as the kernel wrote it', async () => {
    const contexts = [
      ['system_u:system_r:svirt_t:s0:c1,c2', 'system_u:object_r:svirt_image_t:s0:c3,c4'],
      ['system_u:system_r:svirt_tcg_t:s0:c5,c6', 'system_u:object_r:default_t:s0'],
      ['unconfined_u:unconfined_r:svirt_t:s0-s0:c0.c1023', 'staff_u:object_r:user_home_t:s0'],
      ['system_u:system_r:svirt_t:s0:c1,c2', 'system_u:object_r:svirt_image_t:s0:c0.c2'],
      ['system_u:system_r:svirt_t:s0', 'system_u:object_r:nfs_t:s0'],
    ];
    const file = join(t.dir, 'contexts.log');
    writeFileSync(file, `${contexts.map(([s, c], i) => avc(i + 1, s as string, c as string)).join('\n')}\n`);
    await ingestFiles(t.store, [file], { localHost: 'hv1', filesAreFinished: true });
    const back = queryDenials(t.store, {})
      .sort((a, b) => a.serial - b.serial)
      .map((d) => [d.source.context, d.target.context]);
    expect(back).toEqual(contexts);
    // The first two rows are stored without their contexts.
    expect(t.store.db.prepare('SELECT count(*) FROM denial WHERE scontext IS NULL').pluck().get()).toBeGreaterThan(0);
  });
});
