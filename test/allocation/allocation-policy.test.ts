import { describe, expect, it } from 'vitest';
import { CategorySet } from '../../core/category-set.js';
import type { SvirtAuditError } from '../../core/errors.js';
import { chooseCategorySet, type RandomInt } from '../../allocation/allocation-policy.js';

const seeded = (seed: number): RandomInt => {
  let s = seed >>> 0;
  return (bound) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % bound;
  };
};

describe('chooseCategorySet', () => {
  it('hands out every one of the 28 pairs of c0.c7 once, then says the range is exhausted', () => {
    const range = CategorySet.parse('c0.c7');
    const held = new Set<string>();
    const random = seeded(7);
    for (let i = 0; i < 28; i++) {
      const set = chooseCategorySet(range, held, 'pair', random);
      expect(set.size).toBe(2);
      expect(held.has(set.toString())).toBe(false);
      held.add(set.toString());
    }
    expect(held.size).toBe(28);
    try {
      chooseCategorySet(range, held, 'pair', random);
      expect.unreachable('the 29th must fail');
    } catch (error) {
      expect((error as SvirtAuditError).code).toBe('RANGE_EXHAUSTED');
      expect((error as SvirtAuditError).message).toMatch(/all 28 category pairs/);
    }
  });

  it('draws pairs low-first from inside the range, never a single category', () => {
    const range = CategorySet.parse('c800.c899');
    const random = seeded(1);
    for (let i = 0; i < 500; i++) {
      const set = chooseCategorySet(range, new Set(), 'pair', random);
      const [lo, hi] = set.members as [number, number];
      expect(lo).toBeLessThan(hi);
      expect(lo).toBeGreaterThanOrEqual(800);
      expect(hi).toBeLessThanOrEqual(899);
    }
  });

  it('single style never hands out c0 (reserved for disks of stopped VMs)', () => {
    const range = CategorySet.parse('c0.c3');
    const held = new Set<string>();
    const random = seeded(3);
    for (let i = 0; i < 3; i++) held.add(chooseCategorySet(range, held, 'single', random).toString());
    expect([...held].sort()).toEqual(['c1', 'c2', 'c3']);
    expect(() => chooseCategorySet(range, held, 'single', random)).toThrow(/exhausted: all 3 categories/);
  });

  it('finds the last free pair even when random draws keep hitting held ones', () => {
    const range = CategorySet.parse('c0.c1023');
    const held = new Set<string>();
    for (let i = 0; i < 1024; i++)
      for (let j = i + 1; j < 1024; j++) if (!(i === 500 && j === 501)) held.add(`c${i},c${j}`);
    expect(chooseCategorySet(range, held, 'pair', seeded(9)).toString()).toBe('c500,c501');
  });

  it('refuses a range too small for a pair', () => {
    expect(() => chooseCategorySet(CategorySet.parse('c5'), new Set(), 'pair', seeded(1))).toThrow(
      /too few categories/,
    );
  });
});
