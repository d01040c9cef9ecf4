import { describe, expect, it } from 'vitest';
import { createParser } from '../../src/formats/index.js';
import { NginxParser, upstreamSeconds } from '../../src/formats/nginx.js';
import { NOW, source } from './helpers.js';

const defaults = source().defaults;

// nginx's own documentation has no sample output of an escape=json format
// (see fixtures/nginx/SOURCES.md). These lines are what the log_format in
// docs/log-format.md writes, built field by field with values of our own.
function line(fields: Record<string, string>): string {
  return JSON.stringify({
    time: '2026-12-04T10:15:02+01:00',
    request_id: '5a1c0e7d2f9b4e11',
    remote_addr: '198.51.100.23',
    method: 'POST',
    uri: '/v1/models/two-tower:predict',
    status: '200',
    request_time: '0.031',
    upstream_response_time: '0.027',
    ...fields,
  });
}

describe('nginx JSON access log', () => {
  const parser = new NginxParser({ defaults });

  it('reads a request to a model server behind nginx', () => {
    expect(parser.parse(line({}), NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1796375702000,
        requestId: '5a1c0e7d2f9b4e11',
        model: 'two-tower',
        version: 'unknown',
        scene: 'default',
        outcome: 'ok',
        latencySeconds: 0.027,
        items: [],
      },
    });
  });

  it('never copies the client address', () => {
    const out = JSON.stringify(parser.parse(line({}), NOW));
    expect(out).toContain('"ok":true');
    expect(out).not.toContain('198.51.100.23');
  });

  it('takes the total request time on request', () => {
    const total = new NginxParser({ defaults, latencyFrom: 'total' });
    const r = total.parse(line({}), NOW);
    expect(r.ok && r.event.kind === 'inference' && r.event.latencySeconds).toBe(
      0.031,
    );
  });

  it('adds up the times of retried upstreams and leaves latency absent without one', () => {
    const retried = parser.parse(
      line({ upstream_response_time: '0.012, 0.020 : 0.003' }),
      NOW,
    );
    expect(
      retried.ok &&
        retried.event.kind === 'inference' &&
        retried.event.latencySeconds,
    ).toBe(0.035);
    const local = parser.parse(
      line({ status: '502', upstream_response_time: '-' }),
      NOW,
    );
    expect(local.ok && local.event).toEqual({
      kind: 'inference',
      timeMs: 1796375702000,
      requestId: '5a1c0e7d2f9b4e11',
      model: 'two-tower',
      version: 'unknown',
      scene: 'default',
      outcome: 'error',
      items: [],
    });
  });

  it.each([
    ['200', 'ok'],
    ['304', 'ok'],
    ['400', 'client_error'],
    ['499', 'client_error'],
    ['408', 'timeout'],
    ['504', 'timeout'],
    ['500', 'error'],
  ])('maps status %s to %s', (status, outcome) => {
    const r = parser.parse(line({ status }), NOW);
    expect(r.ok && r.event.kind === 'inference' && r.event.outcome).toBe(
      outcome,
    );
  });

  it('reads versions, encoded colons and query strings in the URI', () => {
    const cases: Array<[string, string, string]> = [
      [
        '/v2/models/two-tower/versions/2026-11-30/infer',
        'two-tower',
        '2026-11-30',
      ],
      ['/v1/models/two-tower%3Apredict', 'two-tower', 'unknown'],
      ['/v1/models/two-tower:predict?debug=1', 'two-tower', 'unknown'],
    ];
    for (const [uri, model, version] of cases) {
      const r = parser.parse(line({ uri }), NOW);
      expect(r.ok && r.event).toMatchObject({ model, version });
    }
  });

  it('takes model, version and scene from a custom path pattern', () => {
    const shop = new NginxParser({
      defaults,
      pathRegex: ['^/(?<scene>search|recommend)/(?<model>[a-z-]+)$'],
    });
    const r = shop.parse(line({ uri: '/recommend/two-tower' }), NOW);
    expect(r.ok && r.event).toMatchObject({
      model: 'two-tower',
      scene: 'recommend',
      version: 'unknown',
    });
    expect(
      () =>
        new NginxParser({
          defaults,
          pathRegex: ['^/(?<model>x)$', '^/legacy$'],
        }),
    ).toThrow(/path_regex: "\^\/legacy\$" has no \(\?<model>\.\.\.\) group/);
  });

  it('reads $msec times and renamed keys', () => {
    const renamed = new NginxParser({
      defaults,
      keys: { time: 'msec', uri: 'request_uri' },
    });
    const text = JSON.stringify({
      msec: '1796375702.125',
      request_uri: '/v1/models/m:predict',
      status: '200',
    });
    const r = renamed.parse(text, NOW);
    expect(r.ok && r.event).toMatchObject({
      timeMs: 1796375702125,
      model: 'm',
    });
    expect(
      r.ok && r.event.kind === 'inference' && 'latencySeconds' in r.event,
    ).toBe(false);
  });

  it('skips health checks and blank lines', () => {
    expect(parser.parse(line({ uri: '/v2/health/ready' }), NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_path',
    });
    expect(
      parser.parse(line({ uri: '/v2/models/two-tower/ready' }), NOW),
    ).toEqual({ ok: false, skipped: true, reason: 'other_path' });
    expect(parser.parse('', NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'blank',
    });
  });

  it.each([
    [line({ uri: '-' }), 'missing_field', 'uri'],
    [line({ status: 'OK' }), 'bad_value', 'status'],
    [line({ status: '1000' }), 'bad_value', 'status'],
    [line({ time: '04/Dec/2026:10:15:02 +0100' }), 'bad_time', 'time'],
    [
      line({ upstream_response_time: '0.01, fast' }),
      'bad_value',
      'upstream_response_time',
    ],
    [line({ uri: '/v1/models/%ZZ:predict' }), 'bad_value', 'path'],
    ['{"uri": 5, "status": "200"}', 'bad_type', 'uri'],
    ['{"time": ', 'not_json', undefined],
    ['[]', 'not_object', undefined],
  ])('rejects %s as %s naming %s', (text, reason, field) => {
    expect(parser.parse(text, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason,
      field,
    });
  });

  it('is what createParser builds for nginx', () => {
    const p = createParser('nginx', { source: source(), latencyFrom: 'total' });
    const r = p.parse(line({}), NOW);
    expect(r.ok && r.event.kind === 'inference' && r.event.latencySeconds).toBe(
      0.031,
    );
  });
});

describe('upstreamSeconds', () => {
  it.each([
    ['0.027', 0.027],
    ['-', undefined],
    ['-, 0.5', 0.5],
    ['0.25 : 0.5', 0.75],
    [0.1, 0.1],
  ])('reads %s as %s', (raw, seconds) => {
    expect(upstreamSeconds(raw)).toBe(seconds);
  });

  it('gives NaN for text it cannot read', () => {
    expect(upstreamSeconds('x')).toBeNaN();
    expect(upstreamSeconds(-1)).toBeNaN();
    expect(upstreamSeconds(true)).toBeNaN();
  });
});
