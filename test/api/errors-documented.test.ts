import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_ERRORS, DOMAIN_STATUS } from '../../api/errors.js';
import { ERROR_CODES } from '../../core/errors.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

describe('docs/api.md', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  it.each(Object.entries(API_ERRORS))('documents %s with its status', (code, { status }) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
  });
  it.each(Object.keys(ERROR_CODES))('documents domain error %s with its status', (code) => {
    expect(doc).toMatch(new RegExp(`\\| \`${code}\` \\| ${DOMAIN_STATUS[code as keyof typeof DOMAIN_STATUS]} \\|`));
  });
});
