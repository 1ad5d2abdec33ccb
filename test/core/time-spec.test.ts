import { describe, expect, it } from 'vitest';
import { SvirtAuditError } from '../../core/errors.js';
import { formatTime, parseSpan, parseTimeSpec } from '../../core/time-spec.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

describe('parseTimeSpec', () => {
  it.each([
    { input: '90m', expected: '2026-11-21T10:30:00.000Z' },
    { input: '24h', expected: '2026-11-20T12:00:00.000Z' },
    { input: '7d', expected: '2026-11-14T12:00:00.000Z' },
    { input: '30s', expected: '2026-11-21T11:59:30.000Z' },
    { input: '2026-11-21T10:00:00.123Z', expected: '2026-11-21T10:00:00.123Z' },
    { input: '2026-11-21T10:00:00', expected: '2026-11-21T10:00:00.000Z' },
    { input: '2026-11-21 10:00', expected: '2026-11-21T10:00:00.000Z' },
    { input: '2026-11-21', expected: '2026-11-21T00:00:00.000Z' },
    { input: '2026-11-21T11:00:00+01:00', expected: '2026-11-21T10:00:00.000Z' },
  ])('$input', ({ input, expected }) => {
    expect(formatTime(parseTimeSpec(input, NOW))).toBe(expected);
  });

  it.each(['yesterday', '24', 'h24', '2026-13-45', '2026-11-21T25:00:00Z', ''])('refuses %j with a hint', (input) => {
    expect(() => parseTimeSpec(input, NOW)).toThrow(SvirtAuditError);
    try {
      parseTimeSpec(input, NOW);
    } catch (error) {
      expect((error as SvirtAuditError).hint).toMatch(/ISO 8601/);
    }
  });

  it('parseSpan knows every unit', () => {
    expect(parseSpan('1w')).toBe(7 * 86_400_000);
    expect(parseSpan('1.5h')).toBe(5_400_000);
    expect(parseSpan('250ms')).toBe(250);
  });
});
