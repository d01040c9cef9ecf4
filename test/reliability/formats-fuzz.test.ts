/**
 * Property-based fuzzing of every line format through `createParser`:
 * real lines of each format (the fixtures under test/formats/fixtures, see
 * their SOURCES.md, and lines built to the documented layouts) are
 * truncated, garbled, given wrong values token by token or key by key, or
 * replaced by arbitrary text. Every answer must be an event that holds
 * together or a documented reason, and the recorder must count each line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSource } from '../../src/config/schema.js';
import type { LineResult } from '../../src/formats/events.js';
import {
  createParser,
  LINE_FORMATS,
  SKIP_REASONS,
} from '../../src/formats/index.js';
import type { LineFormat, ParserOptions } from '../../src/formats/index.js';
import * as defs from '../../src/metrics/definitions.js';
import { Recorder } from '../../src/metrics/recorder.js';
import { MetricStore } from '../../src/metrics/store.js';
import { checkEvent, REJECT_REASONS } from './line-results.js';

const NOW = Date.UTC(2026, 11, 4, 10);
const FIXTURES = fileURLToPath(
  new URL('../formats/fixtures/', import.meta.url),
);

/** A user pattern over TorchServe access lines, for the regex format. */
const ACCESS_PATTERN =
  '^(?<time>\\S+ \\S+) .* "\\w+ /predictions/(?<model>[^/ ]+) [^"]+" (?<status>\\d+) (?<latency>\\d+)$';

function fixtureLines(folder: string): string[] {
  const dir = join(FIXTURES, folder);
  return readdirSync(dir)
    .filter((name) => name !== 'SOURCES.md')
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n'))
    .filter((line) => line.trim() !== '');
}

/** nginx has no published sample; this is the layout docs/log-format.md sets. */
const NGINX_LINES = [
  JSON.stringify({
    time: '2026-12-04T10:15:02+01:00',
    request_id: '5a1c0e7d2f9b4e11',
    remote_addr: '198.51.100.23',
    method: 'POST',
    uri: '/v1/models/two-tower:predict',
    status: '200',
    request_time: '0.031',
    upstream_response_time: '0.027',
  }),
];

const ENVOY_JSON = JSON.stringify({
  start_time: '2024-08-08T00:21:14.929Z',
  method: 'POST',
  'x-envoy-origin-path': '/v2/models/two-tower/versions/7/infer',
  response_code: 200,
  duration: 31,
  'x-envoy-upstream-service-time': '27',
  'x-request-id': 'req-1',
});

const JSONL_LINE = JSON.stringify({
  type: 'inference',
  time: '2026-12-04T10:15:02.120Z',
  request_id: 'req-8f31',
  model: 'two-tower',
  latency_ms: 18.4,
  items: ['sku-1', 'sku-7'],
  user: 'c-2291',
});

function seedsOf(format: LineFormat): string[] {
  switch (format) {
    case 'jsonl':
      return [JSONL_LINE];
    case 'torchserve-access':
    case 'regex':
      return fixtureLines('torchserve-access');
    case 'torchserve-metrics':
      return fixtureLines('torchserve-metrics');
    case 'nginx':
      return NGINX_LINES;
    case 'envoy':
      return [...fixtureLines('envoy'), ENVOY_JSON];
  }
}

function optionsOf(format: LineFormat): ParserOptions {
  const source = defaultSource(['fuzz.log']);
  return format === 'regex' ? { source, pattern: ACCESS_PATTERN } : { source };
}

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    '-',
    '1e400',
    '-1',
    'NaN',
    '99999999999999999999',
    'x'.repeat(300),
  ),
);

/** A real line with one token or one key changed, or its text damaged. */
function mutated(seed: string): fc.Arbitrary<string> {
  const tokens = seed.split(' ');
  const byToken = fc
    .tuple(fc.nat({ max: tokens.length - 1 }), oddValue)
    .map(([at, value]) => {
      const copy = [...tokens];
      copy[at] = typeof value === 'string' ? value : JSON.stringify(value);
      return copy.join(' ');
    });
  const byText = fc.oneof(
    fc.nat({ max: seed.length }).map((at) => seed.slice(0, at)),
    fc
      .tuple(
        fc.nat({ max: seed.length }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
      )
      .map(([at, junk]) => seed.slice(0, at) + junk + seed.slice(at + 1)),
  );
  if (!seed.startsWith('{')) return fc.oneof(byToken, byText);
  const keys = Object.keys(JSON.parse(seed) as object);
  const byKey = fc
    .tuple(fc.constantFrom(...keys), oddValue, fc.boolean())
    .map(([key, value, drop]) => {
      const obj = JSON.parse(seed) as Record<string, unknown>;
      if (drop) delete obj[key];
      else obj[key] = value;
      return JSON.stringify(obj);
    });
  return fc.oneof(byKey, byToken, byText);
}

function lineOf(seeds: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...seeds), weight: 1 },
    { arbitrary: fc.constantFrom(...seeds).chain(mutated), weight: 6 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 300 }), weight: 2 },
    { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 1 },
  );
}

function checkAnswer(result: LineResult): void {
  if (result.ok) return checkEvent(result.event);
  const documented: readonly string[] = result.skipped
    ? SKIP_REASONS
    : REJECT_REASONS;
  expect(documented).toContain(result.reason);
}

describe('every line format under generated input', () => {
  let linesFed = 0;
  const parsedByFormat = new Map<string, number>();

  it.each(LINE_FORMATS.map((f) => [f]))(
    '%s never throws, answers as documented, and each line is counted',
    (format) => {
      const seeds = seedsOf(format);
      const parser = createParser(format, optionsOf(format));
      expect(seeds.some((s) => parser.parse(s, NOW).ok)).toBe(true);
      fc.assert(
        fc.property(
          fc.array(lineOf(seeds), { minLength: 20, maxLength: 30 }),
          (lines) => {
            const store = new MetricStore();
            const recorder = new Recorder(store, {
              k: [5],
              windowSeconds: 60,
              attributionWindowSeconds: 600,
              maxPendingLists: 8,
              maxLabelSets: 4,
              maxOutcomesPerLabelSet: 2,
              now: () => NOW,
            });
            const run = createParser(format, optionsOf(format));
            for (const line of lines) {
              const result = run.parse(line, NOW);
              checkAnswer(result);
              if (result.ok)
                parsedByFormat.set(
                  format,
                  (parsedByFormat.get(format) ?? 0) + 1,
                );
              recorder.line(result);
            }
            linesFed += lines.length;
            let counted = 0;
            for (const { child } of store
              .counter(defs.ingest.lines)
              .children.values())
              counted += child.value;
            expect(counted).toBe(lines.length);
            expect(
              store.counter(defs.serving.requests).children.size,
            ).toBeLessThanOrEqual(5 * 3);
          },
        ),
        { numRuns: 400 },
      );
      expect(parsedByFormat.get(format) ?? 0).toBeGreaterThan(0);
    },
  );

  it('fed at least 40 000 lines over all formats', () => {
    console.info(`format fuzzing: ${linesFed} lines`);
    expect(linesFed).toBeGreaterThanOrEqual(40_000);
  });
});
