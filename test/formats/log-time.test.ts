import { describe, expect, it } from 'vitest';
import {
  instantMillis,
  logTimeMillis,
  parseInstant,
  secondsBetween,
} from '../../src/formats/log-time.js';

describe('parseInstant', () => {
  it.each([
    // log4j with a comma, no zone: UTC unless an offset is given.
    ['2018-10-15 13:56:18,976', 0, 1539611778976],
    ['2024-05-30T21:46:03,625', 0, 1717105563625],
    // TorchServe's example prefix in India time agrees with its own epoch stamp 1630079103.
    ['2021-08-27 21:15:03,376', 330, 1630079103376],
    ['2021-04-10T00:23:26.0789529Z', 0, 1618014206078],
    ['2026-12-04T10:15:02+01:00', 0, 1796375702000],
    ['2026-12-04T10:15:02-0530', 120, 1796399102000],
  ])('reads %s (offset %s) as %s', (text, offset, ms) => {
    expect(instantMillis(parseInstant(text, offset)!)).toBe(ms);
  });

  it.each([
    '2021-02-29 00:00:00',
    '2021-04-10 24:00:00',
    '2021-04-10 10:60:00',
    '2021-04-10 10:00:61',
    'soon',
    '2021-04-10',
  ])('refuses %s', (text) => {
    expect(parseInstant(text)).toBeUndefined();
  });

  it('keeps nanoseconds for differences', () => {
    const request = parseInstant('2021-04-10T00:23:26.0789529Z')!;
    const response = parseInstant('2021-04-10T00:23:26.080736102Z')!;
    expect(request).toEqual({ seconds: 1618014206, nanos: 78952900 });
    expect(secondsBetween(request, response)).toBe(0.001783202);
    const next = parseInstant('2021-04-10T00:23:27.000000001Z')!;
    expect(secondsBetween(response, next)).toBe(0.919263899);
  });
});

describe('logTimeMillis', () => {
  it.each<[unknown, number]>([
    [1630079103, 1630079103000],
    [1630079103376, 1630079103376],
    ['1796375702.125', 1796375702125],
    ['2018-10-15 13:56:18,976', 1539611778976],
  ])('reads %s as %s', (value, ms) => {
    expect(logTimeMillis(value)).toBe(ms);
  });

  it('gives NaN for what is not a time', () => {
    expect(logTimeMillis('04/Dec/2026:10:15:02 +0100')).toBeNaN();
    expect(logTimeMillis(true)).toBeNaN();
    expect(logTimeMillis(Infinity)).toBeNaN();
  });
});

describe('times no date can hold', () => {
  it('are NaN rather than infinite or past the end of dates', async () => {
    const { logTimeMillis } = await import('../../src/formats/log-time.js');
    // Found by the fuzzer: seconds this large overflow to -Infinity in ms.
    expect(logTimeMillis(-1.797693134862316e305)).toBeNaN();
    expect(logTimeMillis(1e16)).toBeNaN();
    expect(logTimeMillis(8.64e15)).toBe(8.64e15);
    expect(logTimeMillis(1630079103)).toBe(1630079103000);
  });
});
