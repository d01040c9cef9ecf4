import { describe, expect, it } from 'vitest';
import { defaultSource, type SourceConfig } from '../../src/config/schema.js';
import { JsonLineParser } from '../../src/formats/jsonl.js';

const NOW = Date.UTC(2026, 0, 1);

function parser(over: (s: SourceConfig) => void = () => {}) {
  const source = defaultSource(['x']);
  over(source);
  return new JsonLineParser(source);
}

describe('JsonLineParser, default schema', () => {
  const p = parser();

  it('reads an inference line', () => {
    const line =
      '{"type":"inference","time":"2010-12-01T08:26:00.000Z","request_id":"req-536365","model":"popularity","model_version":"v1","scene":"recommend","latency_ms":0.412,"status":"ok","items":["85123A","71053"],"user":"17850"}';
    expect(p.parse(line, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: Date.UTC(2010, 11, 1, 8, 26),
        requestId: 'req-536365',
        model: 'popularity',
        version: 'v1',
        scene: 'recommend',
        outcome: 'ok',
        latencySeconds: 0.000412,
        items: ['85123A', '71053'],
        userKey: '17850',
      },
    });
  });

  it('reads a feedback line, folding action synonyms', () => {
    const line =
      '{"type":"feedback","time":1291191960,"user":"17850","item":"85123A","action":"add_to_cart"}';
    expect(p.parse(line, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'feedback',
        timeMs: 1291191960000,
        userKey: '17850',
        itemId: '85123A',
        action: 'cart',
      },
    });
  });

  it('tells inference from feedback by their fields when the type is absent', () => {
    const r1 = p.parse('{"model":"m","items":[1,2]}', NOW);
    expect(r1.ok && r1.event.kind === 'inference' && r1.event.items).toEqual([
      '1',
      '2',
    ]);
    expect(r1.ok && r1.event.timeMs).toBe(NOW);
    const r2 = p.parse('{"action":"buy","item":5,"request_id":"r"}', NOW);
    expect(r2.ok && r2.event.kind).toBe('feedback');
  });

  it.each([
    ['not json', 'not_json', undefined],
    ['[1,2]', 'not_object', undefined],
    ['{"foo":1}', 'unknown_kind', 'type'],
    ['{"type":"inference","items":[]}', 'missing_field', 'model'],
    ['{"type":"inference","model":{"a":1}}', 'bad_type', 'model'],
    [
      '{"type":"inference","model":"m","latency_ms":-3}',
      'bad_value',
      'latency_ms',
    ],
    [
      '{"type":"inference","model":"m","time":-1.797693134862316e305}',
      'bad_time',
      'time',
    ],
    [
      '{"type":"inference","model":"m","latency_ms":1e308}',
      'bad_value',
      'latency_ms',
    ],
    [
      '{"type":"inference","model":"m","latency_ms":86400001}',
      'bad_value',
      'latency_ms',
    ],
    [
      '{"type":"inference","model":"m","latency_ms":"fast"}',
      'bad_type',
      'latency_ms',
    ],
    ['{"type":"inference","model":"m","items":[{"x":1}]}', 'bad_type', 'items'],
    ['{"type":"inference","model":"m","time":"yesterday"}', 'bad_time', 'time'],
    ['{"type":"feedback","item":"a","user":"u"}', 'missing_field', 'action'],
    [
      '{"type":"feedback","item":"a","user":"u","action":"stare"}',
      'bad_value',
      'action',
    ],
    [
      '{"type":"feedback","item":"a","user":"u","action":"constructor"}',
      'bad_value',
      'action',
    ],
    [
      '{"type":"feedback","action":"click","user":"u"}',
      'missing_field',
      'item',
    ],
    [
      '{"type":"feedback","action":"click","item":"a"}',
      'missing_field',
      'user',
    ],
  ])('rejects %s as %s naming %s', (line, reason, field) => {
    expect(p.parse(line, NOW)).toEqual({
      ok: false,
      skipped: false,
      reason,
      field,
    });
  });

  it('skips blank lines and lines of other types', () => {
    expect(p.parse('   ', NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'blank',
    });
    expect(p.parse('{"type":"startup","msg":"hi"}', NOW)).toEqual({
      ok: false,
      skipped: true,
      reason: 'other_type',
    });
  });

  it('refuses overlong label values', () => {
    const r = p.parse(JSON.stringify({ model: 'm'.repeat(129) }), NOW);
    expect(r).toEqual({
      ok: false,
      skipped: false,
      reason: 'bad_value',
      field: 'model',
    });
  });
});

describe('JsonLineParser, field mapping', () => {
  it('follows nested paths, epoch milliseconds, seconds latency and object items', () => {
    const p = parser((s) => {
      s.type = 'inference';
      Object.assign(s.fields, {
        time: 'ts',
        timeUnit: 'ms',
        model: 'meta.model.name',
        version: 'meta.model.rev',
        scene: 'ctx.page',
        latency: 'timing.total',
        latencyUnit: 's',
        outcome: 'result',
        items: 'response.hits',
        itemIdKey: 'sku',
        requestId: 'trace',
        user: 'session',
      });
    });
    const line = JSON.stringify({
      ts: 1700000000123,
      meta: { model: { name: 'two-tower', rev: 42 } },
      ctx: { page: 'search' },
      timing: { total: 0.25 },
      result: 'timeout',
      response: { hits: [{ sku: 'A' }, { sku: 'B' }] },
      trace: 't-1',
      session: 's-9',
    });
    expect(p.parse(line, NOW)).toEqual({
      ok: true,
      event: {
        kind: 'inference',
        timeMs: 1700000000123,
        model: 'two-tower',
        version: '42',
        scene: 'search',
        latencySeconds: 0.25,
        outcome: 'timeout',
        items: ['A', 'B'],
        requestId: 't-1',
        userKey: 's-9',
      },
    });
  });

  it('uses configured defaults for absent labels', () => {
    const p = parser((s) => {
      s.defaults.model = 'ranker';
      s.defaults.scene = 'home';
    });
    const r = p.parse('{"type":"inference","items":"a,b"}', NOW);
    expect(r.ok && r.event).toMatchObject({
      model: 'ranker',
      version: 'unknown',
      scene: 'home',
      outcome: 'ok',
      items: ['a', 'b'],
    });
  });
});
