import { describe, expect, it } from 'vitest';
import { RingBuffer } from '../../src/server/ring-buffer.js';

describe('RingBuffer', () => {
  it('keeps entries oldest first until full', () => {
    const ring = new RingBuffer<number>(3);
    expect(ring.toArray()).toEqual([]);
    expect(ring.latest()).toBeUndefined();
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.length).toBe(2);
    expect(ring.latest()).toBe(2);
  });

  it('drops the oldest entry once full, however often it wraps', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 4; i++) ring.push(i);
    expect(ring.toArray()).toEqual([2, 3, 4]);
    for (let i = 5; i <= 11; i++) ring.push(i);
    expect(ring.toArray()).toEqual([9, 10, 11]);
    expect(ring.length).toBe(3);
    expect(ring.latest()).toBe(11);
  });

  it('holds one entry with capacity 1', () => {
    const ring = new RingBuffer<string>(1);
    ring.push('a');
    ring.push('b');
    expect(ring.toArray()).toEqual(['b']);
  });

  it('refuses a capacity that is not a whole number >= 1', () => {
    expect(() => new RingBuffer(0)).toThrow(/capacity.*got 0/);
    expect(() => new RingBuffer(2.5)).toThrow(/got 2.5/);
  });
});
