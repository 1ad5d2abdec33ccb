import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CategorySet } from '../../core/category-set.js';
import { ContextError } from '../../core/errors.js';

describe('CategorySet.parse and toString', () => {
  it.each([
    { input: '', members: [], canonical: '' },
    { input: 'c392,c662', members: [392, 662], canonical: 'c392,c662' },
    { input: 'c662,c392', members: [392, 662], canonical: 'c392,c662' },
    { input: 'c5.c6', members: [5, 6], canonical: 'c5,c6' },
    { input: 'c0.c3', members: [0, 1, 2, 3], canonical: 'c0.c3' },
    { input: 'c0,c1,c2', members: [0, 1, 2], canonical: 'c0.c2' },
    { input: 'c0.c5,c9', members: [0, 1, 2, 3, 4, 5, 9], canonical: 'c0.c5,c9' },
    { input: 'c3,c1,c3', members: [1, 3], canonical: 'c1,c3' },
    { input: 'c1.c1', members: [1], canonical: 'c1' },
    { input: 'c0.c2,c4.c5,c7.c9', members: [0, 1, 2, 4, 5, 7, 8, 9], canonical: 'c0.c2,c4,c5,c7.c9' },
  ])('$input', ({ input, members, canonical }) => {
    const set = CategorySet.parse(input);
    expect(set.members).toEqual(members);
    expect(set.toString()).toBe(canonical);
  });

  it('expands c0.c1023 to 1024 members and prints it back compressed', () => {
    const set = CategorySet.parse('c0.c1023');
    expect(set.size).toBe(1024);
    expect(set.toString()).toBe('c0.c1023');
  });

  it.each([
    { input: 'c1024', reason: /outside/ },
    { input: 'c5.c2', reason: /backwards/ },
    { input: 'x5', reason: /not a category/ },
    { input: 'c', reason: /not a category/ },
    { input: 'c1,,c2', reason: /not a category/ },
    { input: 'c-1', reason: /not a category/ },
    { input: 'c1.', reason: /not a category/ },
  ])('refuses $input', ({ input, reason }) => {
    expect(() => CategorySet.parse(input)).toThrow(ContextError);
    expect(() => CategorySet.parse(input)).toThrow(reason);
  });
});

describe('CategorySet relations', () => {
  it('equality ignores the written form (kernel c5.c6 equals libvirt c5,c6)', () => {
    expect(CategorySet.parse('c5.c6').equals(CategorySet.parse('c6,c5'))).toBe(true);
    expect(CategorySet.parse('c1').equals(CategorySet.parse('c1,c2'))).toBe(false);
  });

  it('subset follows MCS dominance on categories', () => {
    expect(CategorySet.parse('c1').isSubsetOf(CategorySet.parse('c1,c2'))).toBe(true);
    expect(CategorySet.parse('c1,c3').isSubsetOf(CategorySet.parse('c1,c2'))).toBe(false);
    expect(CategorySet.EMPTY.isSubsetOf(CategorySet.parse('c9'))).toBe(true);
    expect(CategorySet.parse('c0.c5,c9').isSubsetOf(CategorySet.parse('c0.c1023'))).toBe(true);
  });
});

describe('CategorySet properties', () => {
  const sets = fc.uniqueArray(fc.integer({ min: 0, max: 1023 }), { maxLength: 40 });

  it('parse(toString(s)) equals s for any set', () => {
    fc.assert(
      fc.property(sets, (numbers) => {
        const set = CategorySet.of(numbers);
        expect(CategorySet.parse(set.toString()).equals(set)).toBe(true);
      }),
    );
  });

  it('the canonical form does not depend on how the set was written', () => {
    fc.assert(
      fc.property(sets, (numbers) => {
        const written = fc.sample(fc.shuffledSubarray(numbers, { minLength: numbers.length }), 1)[0] ?? [];
        const text = written.map((n) => `c${n}`).join(',');
        expect(CategorySet.parse(text).toString()).toBe(CategorySet.of(numbers).toString());
      }),
    );
  });

  it('a set is a subset of its union with any other', () => {
    fc.assert(
      fc.property(sets, sets, (a, b) => {
        expect(CategorySet.of(a).isSubsetOf(CategorySet.of([...a, ...b]))).toBe(true);
      }),
    );
  });
});
