import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CategorySet } from '../../core/category-set.js';
import { ContextError } from '../../core/errors.js';
import {
  contextCategories,
  formatSelinuxContext,
  parseSelinuxContext,
  tryParseSelinuxContext,
} from '../../core/selinux-context.js';

describe('parseSelinuxContext', () => {
  it.each([
    {
      input: 'system_u:system_r:svirt_t:s0:c392,c662',
      type: 'svirt_t',
      cats: 'c392,c662',
      printed: 'system_u:system_r:svirt_t:s0:c392,c662',
    },
    {
      input: 'system_u:object_r:svirt_image_t:s0',
      type: 'svirt_image_t',
      cats: '',
      printed: 'system_u:object_r:svirt_image_t:s0',
    },
    {
      input: 'system_u:system_r:virtd_t:s0-s0:c0.c1023',
      type: 'virtd_t',
      cats: 'c0.c1023',
      printed: 'system_u:system_r:virtd_t:s0-s0:c0.c1023',
    },
    {
      input: 'system_u:system_r:svirt_t:s0:c0.c5,c9',
      type: 'svirt_t',
      cats: 'c0.c5,c9',
      printed: 'system_u:system_r:svirt_t:s0:c0.c5,c9',
    },
    {
      input: 'unconfined_u:unconfined_r:svirt_t:s0:c463,c524',
      type: 'svirt_t',
      cats: 'c463,c524',
      printed: 'unconfined_u:unconfined_r:svirt_t:s0:c463,c524',
    },
    {
      input: 'system_u:system_r:svirt_tcg_t:s0:c23.c24',
      type: 'svirt_tcg_t',
      cats: 'c23,c24',
      printed: 'system_u:system_r:svirt_tcg_t:s0:c23,c24',
    },
    { input: 'user_u:user_r:user_t', type: 'user_t', cats: '', printed: 'user_u:user_r:user_t' },
  ])('$input', ({ input, type, cats, printed }) => {
    const ctx = parseSelinuxContext(input);
    expect(ctx.type).toBe(type);
    expect(contextCategories(ctx).toString()).toBe(cats);
    expect(formatSelinuxContext(ctx)).toBe(printed);
  });

  it.each([
    { input: 'svirt_t', part: 'context' },
    { input: 'a:b', part: 'context' },
    { input: ':system_r:svirt_t:s0', part: 'user' },
    { input: 'system_u::svirt_t:s0', part: 'role' },
    { input: 'system_u:system_r::s0', part: 'type' },
    { input: 'system_u:system_r:svirt t:s0', part: 'type' },
    { input: 'system_u:system_r:svirt_t:x0', part: 'sensitivity' },
    { input: 'system_u:system_r:svirt_t:s0:', part: 'category' },
    { input: 'system_u:system_r:svirt_t:s0:c2000', part: 'category' },
    { input: 'system_u:system_r:svirt_t:s0:q1', part: 'category' },
    { input: 'system_u:system_r:svirt_t:s0:c5-s0:c1', part: 'level' },
  ])('names the bad part of $input ($part)', ({ input, part }) => {
    try {
      parseSelinuxContext(input);
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ContextError);
      expect((error as ContextError).part).toBe(part);
      expect((error as ContextError).code).toBe('BAD_CONTEXT');
    }
  });

  it('tryParseSelinuxContext returns undefined instead of throwing', () => {
    expect(tryParseSelinuxContext('libvirt-0f1e')).toBeUndefined();
    expect(tryParseSelinuxContext('a:b:c:s0')?.type).toBe('c');
  });

  it('round-trips any generated context', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/);
    const cats = fc.uniqueArray(fc.integer({ min: 0, max: 1023 }), { maxLength: 8 });
    fc.assert(
      fc.property(name, name, name, fc.integer({ min: 0, max: 15 }), cats, (u, r, t, s, c) => {
        const level = c.length === 0 ? `s${s}` : `s${s}:${CategorySet.of(c).toString()}`;
        const text = `${u}:${r}:${t}:${level}`;
        expect(formatSelinuxContext(parseSelinuxContext(text))).toBe(text);
      }),
    );
  });
});
