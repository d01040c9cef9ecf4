/**
 * Property-based fuzzing of the line splitter with raw bytes: invalid
 * UTF-8, lone and doubled `\r`, lines around and far past the length
 * limit, cut into chunks at arbitrary places. Its lines are compared with
 * a plain split of the whole input, then run through the parser and the
 * recorder, which must count each one exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSource } from '../../src/config/schema.js';
import type { LineResult } from '../../src/formats/events.js';
import { JsonLineParser } from '../../src/formats/jsonl.js';
import * as defs from '../../src/metrics/definitions.js';
import { Recorder } from '../../src/metrics/recorder.js';
import { MetricStore } from '../../src/metrics/store.js';
import { LineSplitter } from '../../src/sources/line-splitter.js';
import type { TailedLine } from '../../src/sources/line-splitter.js';
import { checkResult } from './line-results.js';

const NOW = Date.UTC(2026, 11, 4, 10);
let linesFed = 0;

/** Pieces of bytes that make splitting and decoding hard. */
const piece: fc.Arbitrary<readonly number[]> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      [0x0a],
      [0x0d, 0x0a],
      [0x0d],
      [0x0d, 0x0d, 0x0a],
    ),
    weight: 4,
  },
  {
    arbitrary: fc.array(fc.integer({ min: 0x20, max: 0x7e }), {
      maxLength: 40,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }),
    weight: 2,
  },
  // Valid multi-byte characters, which a chunk edge may split.
  {
    arbitrary: fc.constantFrom(
      [0xc3, 0xa9],
      [0xe2, 0x82, 0xac],
      [0xf0, 0x9f, 0x9b, 0x92],
    ),
    weight: 2,
  },
  // Invalid UTF-8: lone continuation, truncated sequence, overlong, surrogate.
  {
    arbitrary: fc.constantFrom(
      [0x80],
      [0xe2, 0x82],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xff, 0xfe],
    ),
    weight: 2,
  },
  {
    arbitrary: fc
      .constantFrom(
        '{"type":"inference","model":"m","items":["a"],"request_id":"r1"}',
        '{"type":"feedback","request_id":"r1","item":"a","action":"click"}',
        '{"type":"inference","model":"m\u00e9","status":"ok"}',
      )
      .map((line) => [...Buffer.from(line)]),
    weight: 2,
  },
);

const input = fc.record({
  bytes: fc
    .array(piece, { minLength: 30, maxLength: 120 })
    .map((p) => Buffer.from(p.flat())),
  cuts: fc.array(fc.nat({ max: 3000 }), { maxLength: 16 }),
  maxLineBytes: fc.integer({ min: 1, max: 120 }),
  startOffset: fc.nat({ max: 1 << 30 }),
  skipFirst: fc.boolean(),
});

/** What the splitter should deliver, from a plain split of all the bytes. */
function expectedLines(
  bytes: Buffer,
  maxLineBytes: number,
  skipFirst: boolean,
): Array<{ text: string; tooLong: boolean }> {
  const out: Array<{ text: string; tooLong: boolean }> = [];
  let start = 0;
  for (
    let end = bytes.indexOf(0x0a);
    end >= 0;
    end = bytes.indexOf(0x0a, start)
  ) {
    let stop = end;
    if (stop > start && bytes[stop - 1] === 0x0d) stop--;
    const tooLong = stop - start > maxLineBytes;
    const text = tooLong ? '' : bytes.toString('utf8', start, stop);
    if (!(skipFirst && start === 0)) out.push({ text, tooLong });
    start = end + 1;
  }
  return out;
}

/** Pushes `bytes` cut at `cuts`, through a reused, dirty chunk buffer. */
function splitInChunks(
  splitter: LineSplitter,
  bytes: Buffer,
  cuts: number[],
  maxLineBytes: number,
): TailedLine[] {
  const edges = [...new Set(cuts.filter((c) => c < bytes.length))].sort(
    (a, b) => a - b,
  );
  const chunk = Buffer.alloc(bytes.length + 16, 0x0a);
  const out: TailedLine[] = [];
  let from = 0;
  for (const to of [...edges, bytes.length]) {
    bytes.copy(chunk, 0, from, to);
    splitter.push(chunk, to - from, 'fuzz.log', out);
    from = to;
    // Memory stays bounded: at most one line and a `\r` are held.
    const held = (splitter as unknown as { pendingBytes: number }).pendingBytes;
    expect(held).toBeLessThanOrEqual(maxLineBytes + 1);
  }
  return out;
}

describe('LineSplitter under raw bytes', () => {
  it('delivers exactly the lines of a plain split, numbered, with exact offsets', () => {
    fc.assert(
      fc.property(
        input,
        ({ bytes, cuts, maxLineBytes, startOffset, skipFirst }) => {
          const splitter = new LineSplitter(maxLineBytes, startOffset, 0);
          if (skipFirst) splitter.skipToNextLine();
          const lines = splitInChunks(splitter, bytes, cuts, maxLineBytes);
          const expected = expectedLines(bytes, maxLineBytes, skipFirst);
          linesFed += lines.length;

          expect(
            lines.map((l) => ({ text: l.text, tooLong: l.tooLong === true })),
          ).toEqual(expected);
          expect(lines.map((l) => l.line)).toEqual(
            expected.map((_, i) => i + 1),
          );
          const lastNewline = bytes.lastIndexOf(0x0a);
          expect(splitter.readOffset).toBe(startOffset + bytes.length);
          expect(splitter.lineStart).toBe(startOffset + lastNewline + 1);
          expect(splitter.line).toBe(expected.length);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('hands every line to the parser and the recorder, which count each once', () => {
    fc.assert(
      fc.property(input, ({ bytes, cuts, maxLineBytes }) => {
        const store = new MetricStore();
        const recorder = new Recorder(store, {
          k: [5],
          windowSeconds: 60,
          attributionWindowSeconds: 600,
          maxPendingLists: 4,
          maxLabelSets: 2,
          now: () => NOW,
        });
        const parser = new JsonLineParser(defaultSource(['fuzz.log']));
        const splitter = new LineSplitter(maxLineBytes + 60, 0, 0);
        const lines = splitInChunks(splitter, bytes, cuts, maxLineBytes + 60);
        linesFed += lines.length;
        let tooLong = 0;
        for (const line of lines) {
          const result: LineResult = line.tooLong
            ? { ok: false, skipped: false, reason: 'too_long' }
            : parser.parse(line.text, NOW);
          if (line.tooLong) tooLong++;
          checkResult(result);
          recorder.line(result);
        }
        const counted = store.counter(defs.ingest.lines);
        let sum = 0;
        for (const { child } of counted.children.values()) sum += child.value;
        expect(sum).toBe(lines.length);
        const tooLongCount = counted.labels('malformed', 'too_long').value;
        expect(tooLongCount).toBe(tooLong);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a line of exactly the limit and marks one byte more, at 1 MB', () => {
    const max = 1 << 20;
    const exact = Buffer.alloc(max, 0x61);
    const over = Buffer.alloc(max + 1, 0x62);
    const bytes = Buffer.concat([
      exact,
      Buffer.from('\r\n'),
      over,
      Buffer.from('\n'),
    ]);
    const splitter = new LineSplitter(max, 0, 0);
    const lines = splitInChunks(
      splitter,
      bytes,
      [1000, max + 1, max + 2, max + 5000],
      max,
    );
    linesFed += lines.length;
    expect(lines.map((l) => [l.text.length, l.tooLong === true])).toEqual([
      [max, false],
      [0, true],
    ]);
    expect(lines[0]!.text).toBe(exact.toString());
  });

  it('split at least 40 000 lines in this file', () => {
    console.info(`splitter fuzzing: ${linesFed} lines`);
    expect(linesFed).toBeGreaterThanOrEqual(40_000);
  });
});
