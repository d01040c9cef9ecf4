/**
 * The fast reader of UTC timestamps must give what Date.parse gives, for
 * every string: in range, out of range, and not in its form at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIsoUtc, toEpochMillis } from '../../src/formats/fields.js';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

describe('parseIsoUtc', () => {
  it('reads the common forms exactly as Date.parse does', () => {
    expect(parseIsoUtc('2010-12-01T08:26:00.000Z')).toBe(1291191960000);
    expect(parseIsoUtc('2010-12-01T08:26:00Z')).toBe(1291191960000);
    expect(parseIsoUtc('2012-02-29T23:59:59.999Z')).toBe(
      Date.UTC(2012, 1, 29, 23, 59, 59, 999),
    );
  });

  it('leaves to Date.parse what it cannot read for certain', () => {
    for (const text of [
      '2010-02-29T00:00:00.000Z', // not a leap year
      '2010-04-31T00:00:00.000Z',
      '2010-01-01T24:00:00.000Z',
      '2010-01-01T23:60:00.000Z',
      '0099-01-01T00:00:00.000Z', // Date.UTC would read 1999
      '2010-01-01T00:00:00.000z',
      '2010-01-01T00:00:00.000+00:00',
      '2010-01-01 00:00:00.000Z',
      '2010-1-01T00:00:00.000Z',
    ]) {
      expect(parseIsoUtc(text), text).toBeUndefined();
      expect(toEpochMillis(text, 'auto'), text).toBe(Date.parse(text));
    }
  });

  it('agrees with Date.parse on any timestamp of its shape, valid or not', () => {
    const field = (max: number, width: number) =>
      fc.integer({ min: 0, max }).map((n) => pad(n, width));
    const stamp = fc
      .tuple(
        field(9999, 4),
        field(13, 2),
        field(32, 2),
        field(25, 2),
        field(61, 2),
        field(61, 2),
        fc.option(field(999, 3)),
      )
      .map(
        ([y, mo, d, h, mi, s, ms]) =>
          `${y}-${mo}-${d}T${h}:${mi}:${s}${ms === null ? '' : `.${ms}`}Z`,
      );
    fc.assert(
      fc.property(stamp, (text) => {
        expect(toEpochMillis(text, 'auto')).toBe(Date.parse(text));
        // Twice in a row: the second read comes from the one-entry cache.
        expect(toEpochMillis(text, 'auto')).toBe(Date.parse(text));
      }),
      { numRuns: 3000 },
    );
  });
});
