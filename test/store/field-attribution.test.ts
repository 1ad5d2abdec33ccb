/**
 * The real field log (../shared/corpus/field_avcs.txt): after recording an allocation for
 * each svirt category set it contains, every svirt denial in it is attributed.
 */

import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestFiles } from '../../collector/backfill.js';
import { allocateLabel } from '../../allocation/allocate.js';
import { queryDenials } from '../../store/denial-query.js';
import { CORPUS, corpusAvailable } from '../helpers/fixtures.js';
import { openTempStore, type TempStore } from '../helpers/temp-store.js';

// The svirt labels in the file (grep -o 'svirt[a-z_]*_t:s0:c[0-9]*,c[0-9]*'), one VM each.
const LABELS = [
  'system_u:system_r:svirt_t:s0:c305,c965',
  'system_u:system_r:svirt_t:s0:c245,c487',
  'system_u:system_r:svirt_t:s0:c168,c285',
  'system_u:system_r:svirt_t:s0:c210,c503',
  'system_u:system_r:svirt_t:s0:c38,c260',
  'system_u:system_r:svirt_tcg_t:s0:c23,c892',
  'system_u:system_r:svirt_t:s0:c392,c662',
];

let t: TempStore;
beforeEach(() => {
  t = openTempStore();
});
afterEach(() => t.cleanup());

describe.runIf(corpusAvailable())('field_avcs.txt', () => {
  it('attributes every svirt denial once allocations are recorded', async () => {
    LABELS.forEach((label, i) =>
      allocateLabel(t.store, {
        uuid: `00000000-0000-4000-8000-00000000000${i}`,
        name: `vm${i}`,
        host: 'fieldhost',
        model: 'selinux',
        source: 'cli',
        label,
        startedAt: 0,
      }),
    );
    await ingestFiles(t.store, [join(CORPUS, 'field_avcs.txt')], { localHost: 'fieldhost' });
    const svirt = queryDenials(t.store).filter(
      (d) => d.model === 'selinux' && (d.source.type ?? '').startsWith('svirt'),
    );
    // 4 Gentoo VM AVCs, 7 swtpm AVCs (c38,c260), 1 TCG AVC, 1 journald AVC.
    expect(svirt).toHaveLength(13);
    for (const d of svirt) expect(d.source.allocation?.name, d.source.context ?? '').toBeDefined();
    expect(new Set(svirt.map((d) => d.source.allocation?.name)).size).toBe(7);
    // The TCG guest's map of its own image is not a label mix-up: policy.
    expect(svirt.find((d) => d.source.type === 'svirt_tcg_t')?.kind).toBe('policy');
  });
});

if (!corpusAvailable()) console.log(`skipped: the shared corpus is not at ${CORPUS}`);
