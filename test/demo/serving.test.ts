import { describe, expect, it } from 'vitest';

import {
  DemoModelServer,
  inferenceLine,
  purchaseLines,
  stableHash,
  type ServedList,
} from '../../src/demo/serving.js';
import type { ShopSale } from '../../src/demo/shop-data.js';

const AT = Date.UTC(2010, 11, 1, 8, 26);

function customerWithParity(parity: number): string {
  for (let id = 12346; ; id += 1) {
    if (stableHash(String(id)) % 2 === parity) return String(id);
  }
}

describe('stableHash', () => {
  it('is 32-bit FNV-1a (published test vectors)', () => {
    expect(stableHash('')).toBe(0x811c9dc5);
    expect(stableHash('a')).toBe(0xe40c292c);
    expect(stableHash('foobar')).toBe(0xbf9cf968);
  });
});

describe('DemoModelServer', () => {
  const server = new DemoModelServer(3);

  it('routes by customer hash parity, anonymous to popularity', () => {
    expect(server.modelFor(customerWithParity(0)).name).toBe('popularity');
    expect(server.modelFor(customerWithParity(1)).name).toBe('cooccurrence');
    expect(server.modelFor(undefined).name).toBe('popularity');
  });

  it('serves anonymous visits on the home scene under a session key', () => {
    const visit: ShopSale = {
      invoiceNo: '536544',
      timeMs: AT,
      purchases: [{ code: '21773', units: 1 }],
    };
    const list = server.serve(visit, AT);
    expect(list).toMatchObject({
      requestId: 'req-536544',
      model: 'popularity',
      version: 'v1',
      scene: 'home',
      userKey: 'session-536544',
      items: [],
    });
    expect(list.latencyMs).toBeGreaterThanOrEqual(0);
    expect(server.serve(visit, AT, '536544.2').userKey).toBe(
      'session-536544.2',
    );
  });

  it('serves known customers on the recommend scene under their id', () => {
    const customer = customerWithParity(1);
    const list = server.serve(
      { invoiceNo: '9', timeMs: AT, customerId: customer, purchases: [] },
      AT,
    );
    expect(list).toMatchObject({
      requestId: 'req-9',
      model: 'cooccurrence',
      scene: 'recommend',
      userKey: customer,
    });
  });
});

describe('log lines', () => {
  const list: ServedList = {
    requestId: 'req-536365',
    model: 'popularity',
    version: 'v1',
    scene: 'recommend',
    userKey: '17850',
    items: ['85123A', '71053'],
    latencyMs: 0.412,
  };
  const time = '2010-12-01T08:26:00.000Z';

  it('writes an inference line in the exporter default schema', () => {
    expect(inferenceLine(list, time)).toBe(
      '{"type":"inference","time":"2010-12-01T08:26:00.000Z",' +
        '"request_id":"req-536365","model":"popularity","model_version":"v1",' +
        '"scene":"recommend","latency_ms":0.412,"status":"ok",' +
        '"items":["85123A","71053"],"user":"17850"}',
    );
    const empty = JSON.parse(inferenceLine({ ...list, items: [] }, time));
    expect(empty.status).toBe('empty');
  });

  it('writes one purchase line per product, without a request id', () => {
    const sale: ShopSale = {
      invoiceNo: '536365',
      timeMs: AT,
      customerId: '17850',
      purchases: [
        { code: '85123A', units: 6 },
        { code: '71053', units: 6 },
      ],
    };
    expect(purchaseLines(sale, '17850', time)).toEqual([
      '{"type":"feedback","time":"2010-12-01T08:26:00.000Z","user":"17850","item":"85123A","action":"purchase"}',
      '{"type":"feedback","time":"2010-12-01T08:26:00.000Z","user":"17850","item":"71053","action":"purchase"}',
    ]);
  });
});
