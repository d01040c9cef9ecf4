import { describe, expect, it } from 'vitest';
import { EnvoyParser } from '../../src/formats/envoy.js';
import { createParser } from '../../src/formats/index.js';
import {
  fixtureLines,
  fixtureText,
  ipv4Addresses,
  NOW,
  source,
} from './helpers.js';

const defaults = source().defaults;

describe('Envoy default text format', () => {
  const [docsLine] = fixtureLines('envoy', 'usage-rst-default-format.log');
  const [katacodaLine] = fixtureLines('envoy', 'katacoda-step6.log');

  it('skips paths that are not model inference calls', () => {
    const parser = new EnvoyParser({ defaults });
    expect(parser.parse(docsLine!, NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_path',
    });
  });

  it('reads the documented example with a path pattern for its API', () => {
    const parser = new EnvoyParser({
      defaults,
      pathRegex: '^/api/v1/(?<model>[^/]+)$',
    });
    expect(parser.parse(docsLine!, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1460751420310,
        requestId: 'cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2',
        model: 'locations',
        version: 'unknown',
        scene: 'default',
        outcome: 'ok',
        latencySeconds: 0.1,
        items: [],
      },
    });
  });

  it('takes the upstream service time by default and the duration on request', () => {
    const options = {
      defaults: { ...defaults, model: 'shop-ranker' },
      pathRegex: '^/$',
    };
    const upstream = new EnvoyParser(options).parse(katacodaLine!, NOW);
    const total = new EnvoyParser({ ...options, latencyFrom: 'total' }).parse(
      katacodaLine!,
      NOW,
    );
    expect(upstream).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1542948660281,
        requestId: 'f21ebd42-6770-4aa5-88d4-e56118165a7d',
        model: 'shop-ranker',
        version: 'unknown',
        scene: 'default',
        outcome: 'ok',
        latencySeconds: 0.001,
        items: [],
      },
    });
    expect(
      total.ok &&
        total.event.kind === 'inference' &&
        total.event.latencySeconds,
    ).toBe(0.004);
  });

  it('reads Istio text lines, which add three fields after the flags', () => {
    // Built to Istio's documented default text format, field by field.
    const line =
      '[2020-11-25T21:26:18.409Z] "POST /v1/models/ranker:predict HTTP/1.1" 504 UT response_timeout - "-" 10 24 60001 - "-" "curl/7.73.0-DEV" "8496-d88" "ranker:8000" "10.44.1.27:80" outbound|8000||ranker 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default';
    const r = new EnvoyParser({ defaults }).parse(line, NOW);
    expect(r.ok && r.event).toEqual({
      kind: 'inference',
      timeMs: Date.parse('2020-11-25T21:26:18.409Z'),
      requestId: '8496-d88',
      model: 'ranker',
      version: 'unknown',
      scene: 'default',
      outcome: 'timeout',
      items: [],
    });
  });

  it('rejects a bracketed line that is not the default format', () => {
    const parser = new EnvoyParser({ defaults });
    expect(parser.parse('[2016-04-15T20:17:00.310Z] GET /', NOW)).toEqual({
      ok: false,
      skipped: false,
      reason: 'bad_value',
      field: 'line',
    });
  });
});

describe('Envoy JSON format', () => {
  const parser = new EnvoyParser({ defaults });

  it('rejects the documented format-dictionary example: it has no path', () => {
    const [line] = fixtureLines('envoy', 'usage-rst-json-format.log');
    expect(parser.parse(line!, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason: 'missing_field',
      field: 'x-envoy-origin-path',
    });
  });

  // Lines below are built to the documented default JSON formats of Envoy
  // Gateway and Istio, with values of our own.
  it('reads Envoy Gateway keys, typed or as text', () => {
    const line = JSON.stringify({
      start_time: '2024-08-08T00:21:14.929Z',
      method: 'POST',
      'x-envoy-origin-path': '/v2/models/two-tower/versions/7/infer',
      response_code: 200,
      duration: 31,
      'x-envoy-upstream-service-time': '27',
      'x-forwarded-for': '203.0.113.9',
      'x-request-id': 'req-1',
      downstream_remote_address: '203.0.113.9:62217',
    });
    expect(parser.parse(line, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1723076474929,
        requestId: 'req-1',
        model: 'two-tower',
        version: '7',
        scene: 'default',
        outcome: 'ok',
        latencySeconds: 0.027,
        items: [],
      },
    });
    expect(JSON.stringify(parser.parse(line, NOW))).not.toContain(
      '203.0.113.9',
    );
  });

  it('reads Istio keys, with `-` for an absent upstream time', () => {
    const line = JSON.stringify({
      start_time: '2020-09-30T03:22:42.267Z',
      path: '/v1/models/ranker:predict',
      response_code: '503',
      duration: '1',
      upstream_service_time: '-',
      request_id: '9bab4f77',
    });
    const r = parser.parse(line, NOW);
    expect(r.ok && r.event).toEqual({
      kind: 'inference',
      timeMs: 1601436162267,
      requestId: '9bab4f77',
      model: 'ranker',
      version: 'unknown',
      scene: 'default',
      outcome: 'error',
      items: [],
    });
  });

  it('uses renamed keys', () => {
    const renamed = new EnvoyParser({
      defaults,
      keys: { path: ['req_path'], status: ['code'], upstreamTime: ['svc_ms'] },
    });
    const line = '{"req_path":"/v1/models/m:predict","code":429,"svc_ms":5}';
    const r = renamed.parse(line, NOW);
    expect(r.ok && r.event).toMatchObject({
      model: 'm',
      outcome: 'client_error',
      latencySeconds: 0.005,
      timeMs: NOW,
    });
  });

  it.each([
    [
      '{"x-envoy-origin-path":"/v1/models/m:predict"}',
      'bad_value',
      'response_code',
    ],
    [
      '{"x-envoy-origin-path":"/v1/models/m:predict","response_code":"abc"}',
      'bad_value',
      'response_code',
    ],
    [
      '{"x-envoy-origin-path":7,"response_code":200}',
      'bad_type',
      'x-envoy-origin-path',
    ],
    [
      '{"path":"/v1/models/m:predict","response_code":200,"start_time":"soon"}',
      'bad_time',
      'start_time',
    ],
    [
      '{"path":"/v1/models/m:predict","response_code":200,"upstream_service_time":"fast"}',
      'bad_value',
      'x-envoy-upstream-service-time',
    ],
    ['not json', 'not_json', undefined],
    ['[1]', 'bad_value', 'line'],
    ['"text"', 'not_object', undefined],
  ])('rejects %s as %s naming %s', (line, reason, field) => {
    expect(parser.parse(line, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason,
      field,
    });
  });

  it('skips blank lines and non-inference calls on a model path', () => {
    expect(parser.parse('  ', NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'blank',
    });
    const ready = '{"path":"/v2/models/m/ready","response_code":200}';
    expect(parser.parse(ready, NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_path',
    });
  });
});

describe('Envoy through createParser', () => {
  it('passes path pattern and latency choice on', () => {
    const [line] = fixtureLines('envoy', 'katacoda-step6.log');
    const s = source((c) => (c.defaults.model = 'm'));
    const p = createParser('envoy', {
      source: s,
      pathRegex: '^/$',
      latencyFrom: 'total',
    });
    const r = p.parse(line!, NOW);
    expect(r.ok && r.event.kind === 'inference' && r.event.latencySeconds).toBe(
      0.004,
    );
  });

  it('never puts a client or upstream address into an event', () => {
    const s = source((c) => (c.defaults.model = 'm'));
    const everyPath = createParser('envoy', { source: s, pathRegex: '^/' });
    for (const file of ['usage-rst-default-format.log', 'katacoda-step6.log']) {
      const text = fixtureText('envoy', file);
      const addresses = ipv4Addresses(text);
      expect(addresses.length).toBeGreaterThan(0);
      const out = JSON.stringify(
        text.split('\n').map((l) => everyPath.parse(l, NOW)),
      );
      expect(out).toContain('"ok":true');
      for (const address of addresses) expect(out).not.toContain(address);
    }
  });
});
