/** Paths to our own fixtures and to the shared corpus (which tests read in place, never copy). */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
/** `../shared/corpus` beside the checkout; SVIRT_AUDIT_CORPUS overrides. */
export const CORPUS = process.env.SVIRT_AUDIT_CORPUS ?? resolve(REPO_ROOT, '..', 'shared', 'corpus');

export function fixture(relative: string): string {
  return readFileSync(join(FIXTURES, relative), 'utf8');
}

export function corpusAvailable(): boolean {
  return existsSync(CORPUS);
}
