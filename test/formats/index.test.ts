import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonLineParser } from '../../src/formats/jsonl.js';
import {
  createParser,
  LINE_FORMATS,
  SKIP_REASONS,
  type LineFormat,
} from '../../src/formats/index.js';
import { NOW, source } from './helpers.js';

describe('createParser', () => {
  it('keeps the native JSON Lines format as it was', () => {
    const s = source();
    const line =
      '{"type":"inference","model":"m","latency_ms":5,"items":["a"]}';
    expect(createParser('jsonl', { source: s }).parse(line, NOW)).toEqual(
      new JsonLineParser(s).parse(line, NOW),
    );
  });

  it('builds a parser for every format it lists', () => {
    const s = source((c) => (c.defaults.model = 'm'));
    for (const format of LINE_FORMATS) {
      const parser = createParser(format, {
        source: s,
        pattern: '^(?<model>\\w+)$',
      });
      expect(parser.parse('', NOW)).toMatchObject({
        ok: false,
        skipped: true,
        reason: 'blank',
      });
    }
  });

  it('refuses a format it does not know, naming the value', () => {
    expect(() =>
      createParser('apache' as LineFormat, { source: source() }),
    ).toThrow(
      'format: must be one of jsonl, torchserve-access, torchserve-metrics, nginx, envoy, regex, got "apache"',
    );
  });

  it('refuses a bad latency metric name', () => {
    expect(() =>
      createParser('torchserve-metrics', {
        source: source(),
        latencyMetric: 'Prediction Time',
      }),
    ).toThrow('latency_metric: not a metric name: "Prediction Time"');
  });
});

describe('every format, on any line', () => {
  const REJECT = [
    'not_json',
    'not_object',
    'missing_field',
    'bad_type',
    'bad_value',
    'bad_time',
    'unknown_kind',
  ];
  const s = source((c) => (c.defaults.model = 'm'));
  const parsers = LINE_FORMATS.map((format) =>
    createParser(format, {
      source: s,
      pattern: '(?<model>\\w+) (?<latency>\\S+) (?<status>\\d+)',
    }),
  );
  // Pieces of real lines, so that generated lines get past the first checks.
  const piece = fc.constantFrom(
    '2018-10-15 13:56:18,976 ',
    '[2016-04-15T20:17:00.310Z] ',
    '"POST /predictions/m HTTP/1.1" ',
    '"GET /v1/models/m:predict HTTP/2" ',
    '200 ',
    '-1 ',
    ' - ',
    'PredictionTime.ms:',
    '1.5|#ModelName:m,timestamp:1630079103',
    '{"uri":"/v2/models/m/infer","status":"503","upstream_response_time":"0.1, -"}',
    '{"path":"/v1/models/m:predict","response_code":0}',
    '/127.0.0.1:64003 ',
    '"-" ',
  );
  const joined = fc
    .array(fc.oneof(piece, fc.string()), { maxLength: 8 })
    .map((p) => p.join(''));
  const line = fc.oneof(piece, fc.string(), joined);

  it('answers an event, a documented skip or a documented rejection, never a throw', () => {
    fc.assert(
      fc.property(line, (text) => {
        for (const parser of parsers) {
          const r = parser.parse(text, NOW);
          if (r.ok) {
            expect(
              r.event.kind === 'inference' && r.event.model.length,
            ).toBeGreaterThan(0);
            expect(Number.isFinite(r.event.timeMs)).toBe(true);
            const latency =
              r.event.kind === 'inference' ? r.event.latencySeconds : undefined;
            if (latency !== undefined)
              expect(latency).toBeGreaterThanOrEqual(0);
          } else if (r.skipped) {
            expect(SKIP_REASONS).toContain(r.reason);
          } else {
            expect(REJECT).toContain(r.reason);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
