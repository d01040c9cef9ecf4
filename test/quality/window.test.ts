import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../src/quality/window.js';
import { f1, ratio, discount } from '../../src/quality/ranking.js';

describe('SlidingWindow', () => {
  it('sums the last N whole seconds and forgets older ones', () => {
    const w = new SlidingWindow(3);
    w.add(100.2, 'requests', 1);
    w.add(100.9, 'requests', 2);
    w.add(101.5, 'hits', 4);
    w.add(102.0, 'requests', 5);
    expect(w.sums(102.3)).toEqual({
      requests: 8,
      recommended: 0,
      relevant: 0,
      hits: 4,
    });
    // At 103 the bucket of second 100 has left the 3 s window.
    expect(w.sums(103)).toEqual({
      requests: 5,
      recommended: 0,
      relevant: 0,
      hits: 4,
    });
    // Second 103 reuses the slot of second 100; the old counts are cleared.
    w.add(103.1, 'requests', 1);
    expect(w.sums(103.5).requests).toBe(6);
    expect(w.sums(200).requests).toBe(0);
  });

  it('refuses a window that is not a whole number of seconds', () => {
    expect(() => new SlidingWindow(0)).toThrow(/window seconds/);
    expect(() => new SlidingWindow(2.5)).toThrow(/window seconds/);
  });
});

describe('ranking arithmetic', () => {
  it('discounts by log2(rank + 1)', () => {
    expect(discount(1)).toBe(1);
    expect(discount(3)).toBe(0.5);
    expect(discount(7)).toBeCloseTo(1 / 3, 12);
  });

  it('gives 0 rather than NaN for empty ratios and F1', () => {
    expect(ratio(1, 0)).toBe(0);
    expect(ratio(1, 4)).toBe(0.25);
    expect(f1(0, 0)).toBe(0);
    expect(f1(0.5, 2 / 3)).toBeCloseTo(4 / 7, 12);
  });
});
