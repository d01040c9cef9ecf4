import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/formats/index.js';
import type { LineResult } from '../../src/formats/events.js';
import {
  TorchServeAccessParser,
  TorchServeMetricsParser,
} from '../../src/formats/torchserve.js';
import {
  fixtureLines,
  fixtureText,
  ipv4Addresses,
  NOW,
  source,
} from './helpers.js';

const defaults = source().defaults;

describe('TorchServe access log', () => {
  const parser = new TorchServeAccessParser({ defaults });

  it('reads the documented access line: model from the path, ms latency', () => {
    const [line] = fixtureLines('torchserve-access', 'logging-md.log');
    expect(parser.parse(line!, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1539611778976,
        model: 'resnet-18',
        version: 'unknown',
        scene: 'default',
        outcome: 'ok',
        latencySeconds: 0.118,
        items: [],
      },
    });
  });

  it('reads zone-less log4j times at the configured offset', () => {
    const [line] = fixtureLines('torchserve-access', 'logging-md.log');
    const east2h = new TorchServeAccessParser({
      defaults,
      utcOffsetMinutes: 120,
    });
    const r = east2h.parse(line!, NOW);
    expect(r.ok && r.event.timeMs).toBe(1539604578976);
  });

  it('skips management calls and metric lines of the same log', () => {
    const results = fixtureLines(
      'torchserve-access',
      'model-api-control-md.log',
    ).map((l) => parser.parse(l, NOW));
    expect(results).toEqual([
      { ok: false, skipped: true, reason: 'other_path' },
      { ok: false, skipped: true, reason: 'not_access' },
      { ok: false, skipped: true, reason: 'other_path' },
      { ok: false, skipped: true, reason: 'not_access' },
    ]);
  });

  it('maps status codes onto outcomes when a pattern accepts the path', () => {
    const models = new TorchServeAccessParser({
      defaults: { ...defaults, model: 'squeezenet1_1' },
      pathRegex: '^/models$',
    });
    const [post, , get] = fixtureLines(
      'torchserve-access',
      'model-api-control-md.log',
    );
    const base = {
      kind: 'inference',
      model: 'squeezenet1_1',
      version: 'unknown',
      scene: 'default',
      items: [],
    };
    expect(models.parse(post!, NOW)).toEqual({
      ok: true,
      event: {
        ...base,
        timeMs: 1717105563625,
        outcome: 'client_error',
        latencySeconds: 0,
      },
    });
    expect(models.parse(get!, NOW)).toEqual({
      ok: true,
      event: {
        ...base,
        timeMs: 1717105307098,
        outcome: 'ok',
        latencySeconds: 0.002,
      },
    });
  });

  it('skips worker output lines', () => {
    for (const line of fixtureLines(
      'torchserve-access',
      'logging-md-worker-output.log',
    )) {
      expect(parser.parse(line, NOW)).toEqual({
        ok: false,
        skipped: true,
        reason: 'not_access',
      });
    }
  });

  it('reads versions and the KServe-style paths TorchServe also serves', () => {
    const prefix = '2024-05-30T21:46:03,625 - /127.0.0.1:53514 ';
    const cases: Array<[string, string, string]> = [
      ['"POST /predictions/ranker/2.0 HTTP/1.1" 200 7', 'ranker', '2.0'],
      ['"POST /v1/models/ranker:predict HTTP/1.1" 200 7', 'ranker', 'unknown'],
      [
        '"POST /v2/models/ranker/versions/3/infer HTTP/1.1" 503 7',
        'ranker',
        '3',
      ],
    ];
    for (const [request, model, version] of cases) {
      const r = parser.parse(prefix + request, NOW);
      expect(r.ok && r.event).toMatchObject({ model, version });
    }
  });

  it.each([
    [
      '2024-05-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/m HTTP/1.1"',
      'missing_field',
      'status',
    ],
    [
      '2024-05-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/m HTTP/1.1" 200',
      'missing_field',
      'latency',
    ],
    [
      '2024-05-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/m HTTP/1.1" 2x0 5',
      'bad_value',
      'status',
    ],
    [
      '2024-05-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/m HTTP/1.1" 200 -5',
      'bad_value',
      'latency',
    ],
    [
      '2024-13-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/m HTTP/1.1" 200 5',
      'bad_time',
      'time',
    ],
    [
      '2024-05-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/%E0%A4%A HTTP/1.1" 200 5',
      'bad_value',
      'path',
    ],
    [
      `2024-05-30T21:46:03,625 - /127.0.0.1:1 "POST /predictions/${'m'.repeat(129)} HTTP/1.1" 200 5`,
      'bad_value',
      'model',
    ],
  ])('rejects %s as %s naming %s', (line, reason, field) => {
    expect(parser.parse(line, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason,
      field,
    });
  });

  it('refuses a path pattern that does not compile, naming option and value', () => {
    expect(
      () =>
        new TorchServeAccessParser({
          defaults,
          pathRegex: '^/predictions/(?<model>[',
        }),
    ).toThrow(
      /path_regex: not a valid regular expression: "\^\/predictions\/\(\?<model>\["/,
    );
  });

  it('refuses a pattern that cannot yield a model when there is no default', () => {
    expect(
      () => new TorchServeAccessParser({ defaults, pathRegex: '^/ping$' }),
    ).toThrow(/path_regex: "\^\/ping\$" has no \(\?<model>\.\.\.\) group/);
  });
});

describe('TorchServe metrics log', () => {
  const parser = new TorchServeMetricsParser({ defaults });

  it('turns a PredictionTime line into one inference with its request id', () => {
    const [prediction] = fixtureLines(
      'torchserve-metrics',
      'custom-metrics-mtail.log',
    );
    expect(parser.parse(prediction!, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1630079103000,
        requestId: '09ed6c2c-9380-480d-a61a-66bfea958c1d',
        model: 'bert',
        version: 'unknown',
        scene: 'default',
        latencySeconds: 0.10974,
        outcome: 'ok',
        items: [],
      },
    });
  });

  it('skips the other metrics, or counts the chosen one instead', () => {
    const [prediction, handler] = fixtureLines(
      'torchserve-metrics',
      'custom-metrics-mtail.log',
    );
    expect(parser.parse(handler!, NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_metric',
    });
    const byHandler = new TorchServeMetricsParser({
      defaults,
      latencyMetric: 'HandlerTime',
    });
    expect(byHandler.parse(prediction!, NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_metric',
    });
    const r = byHandler.parse(handler!, NOW);
    expect(r.ok && r.event.kind === 'inference' && r.event.latencySeconds).toBe(
      0.10974,
    );
  });

  it('skips host metrics and access lines', () => {
    const lines = [
      ...fixtureLines('torchserve-metrics', 'metrics-md-formatting.log'),
      ...fixtureLines('torchserve-metrics', 'model-api-control-md.log'),
    ];
    const reasons = lines.map((l) => {
      const r = parser.parse(l, NOW);
      return r.ok ? 'parsed' : r.reason;
    });
    expect(reasons).toEqual([
      'other_metric',
      'other_metric',
      'not_metric',
      'other_metric',
      'not_metric',
      'other_metric',
    ]);
  });

  it('refuses a chosen metric whose unit is not a time', () => {
    const counts = new TorchServeMetricsParser({
      defaults,
      latencyMetric: 'Requests4XX',
    });
    const [, metric] = fixtureLines(
      'torchserve-metrics',
      'model-api-control-md.log',
    );
    expect(counts.parse(metric!, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason: 'bad_value',
      field: 'unit',
    });
  });

  it('reads frontend latency with its model version, in microseconds', () => {
    const frontend = new TorchServeMetricsParser({
      defaults,
      latencyMetric: 'ts_inference_latency_microseconds',
    });
    const line =
      '2024-05-30T21:46:03,626 - ts_inference_latency_microseconds.Microseconds:64694.367|#model_name:mnist,model_version:default|#hostname:h,timestamp:1717105563';
    const r = frontend.parse(line, NOW);
    expect(r.ok && r.event).toMatchObject({
      model: 'mnist',
      version: 'default',
      latencySeconds: 0.064694367,
      timeMs: 1717105563000,
    });
  });

  it('falls back on the log4j prefix, then on the read time', () => {
    const noStamp =
      '2021-08-27 21:15:03,376 - PredictionTime.Milliseconds:1.5|#ModelName:bert,Level:Model|#hostname:h';
    const ist = new TorchServeMetricsParser({
      defaults,
      utcOffsetMinutes: 330,
    });
    expect(
      (ist.parse(noStamp, NOW) as Extract<LineResult, { ok: true }>).event
        .timeMs,
    ).toBe(1630079103376);
    const bare = 'PredictionTime.ms:1.5|#ModelName:bert,Level:Model';
    expect(
      (parser.parse(bare, NOW) as Extract<LineResult, { ok: true }>).event
        .timeMs,
    ).toBe(NOW);
  });

  it.each([
    ['PredictionTime.ms:fast|#ModelName:m', 'bad_value', 'value'],
    ['PredictionTime.ms:-1|#ModelName:m', 'bad_value', 'value'],
    ['PredictionTime.ms:1|#Level:Model', 'missing_field', 'ModelName'],
    [
      '2021-02-30 21:15:03,376 - PredictionTime.ms:1|#ModelName:m',
      'bad_time',
      'timestamp',
    ],
  ])('rejects %s as %s naming %s', (line, reason, field) => {
    expect(parser.parse(line, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason,
      field,
    });
  });
});

describe('TorchServe parsers through createParser', () => {
  it('gives the same results as the classes', () => {
    const [access] = fixtureLines('torchserve-access', 'logging-md.log');
    const [metric] = fixtureLines(
      'torchserve-metrics',
      'custom-metrics-mtail.log',
    );
    const s = source();
    expect(
      createParser('torchserve-access', { source: s }).parse(access!, NOW),
    ).toEqual(new TorchServeAccessParser({ defaults }).parse(access!, NOW));
    expect(
      createParser('torchserve-metrics', { source: s }).parse(metric!, NOW),
    ).toEqual(new TorchServeMetricsParser({ defaults }).parse(metric!, NOW));
  });

  it('never puts a client address into an event', () => {
    const files: Array<[string, string]> = [
      ['torchserve-access', 'logging-md.log'],
      ['torchserve-access', 'model-api-control-md.log'],
    ];
    const everyPath = new TorchServeAccessParser({
      defaults: { ...defaults, model: 'm' },
      pathRegex: '^/',
    });
    for (const [format, file] of files) {
      const text = fixtureText(format, file);
      const addresses = ipv4Addresses(text);
      expect(addresses).toContain('127.0.0.1');
      const out = JSON.stringify(
        text.split('\n').map((l) => everyPath.parse(l, NOW)),
      );
      expect(out).toContain('"ok":true');
      for (const address of addresses) expect(out).not.toContain(address);
    }
  });
});
