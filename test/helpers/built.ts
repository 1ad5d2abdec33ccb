/** Tests that start real processes run the compiled tree; `npm test` builds it first (pretest). */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './fixtures.js';

export const CLI = join(REPO_ROOT, 'bin', 'svirt-audit.js');

export function requireBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  }
}
