import { describe, expect, it } from 'vitest';

import {
  CooccurrenceModel,
  PopularityModel,
  topByCount,
} from '../../src/demo/recommender.js';
import { loadShopData, type ShopSale } from '../../src/demo/shop-data.js';
import {
  isPurchase,
  readSliceRows,
  SLICE_PATH,
  type RawRow,
} from './retail-rows.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

function sale(
  invoiceNo: string,
  timeMs: number,
  units: Record<string, number>,
  customerId?: string,
): ShopSale {
  const purchases = Object.entries(units).map(([code, n]) => ({
    code,
    units: n,
  }));
  return customerId === undefined
    ? { invoiceNo, timeMs, purchases }
    : { invoiceNo, timeMs, purchases, customerId };
}

/** Minutes since 2010-12-01T00:00 of a `YYYY-MM-DDTHH:MM` in Dec 2010. */
function decemberMinute(date: string): number {
  const day = Number(date.slice(8, 10));
  const hour = Number(date.slice(11, 13));
  const minute = Number(date.slice(14, 16));
  return ((day - 1) * 24 + hour) * 60 + minute;
}

/** Best sellers by brute force: rescan every earlier row, pick maxima. */
function bruteForceTop(rows: RawRow[], invoiceNo: string, k: number): string[] {
  const first = rows.findIndex((r) => r.invoiceNo === invoiceNo);
  const now = decemberMinute(rows[first]!.date);
  const units: Record<string, number> = {};
  for (const row of rows.slice(0, first)) {
    if (!isPurchase(row)) continue;
    if (decemberMinute(row.date) <= now - 7 * 24 * 60) continue;
    units[row.stockCode] = (units[row.stockCode] ?? 0) + row.quantity;
  }
  const picked: string[] = [];
  while (picked.length < k) {
    let best: string | undefined;
    for (const code of Object.keys(units)) {
      if (picked.includes(code)) continue;
      const better =
        best === undefined ||
        units[code]! > units[best]! ||
        (units[code] === units[best] && code < best);
      if (better) best = code;
    }
    if (best === undefined) break;
    picked.push(best);
  }
  return picked;
}

describe('topByCount', () => {
  it('ranks by count, breaks ties by key, passes over excluded keys', () => {
    const counts = new Map([
      ['b', 5],
      ['a', 5],
      ['c', 9],
      ['d', 1],
      ['e', 5],
    ]);
    expect(topByCount(counts, 3)).toEqual(['c', 'a', 'b']);
    expect(topByCount(counts, 3, new Set(['a', 'c']))).toEqual(['b', 'e', 'd']);
    expect(topByCount(counts, 10)).toHaveLength(5);
  });
});

describe('PopularityModel', () => {
  it('matches a brute-force count on the first 600 rows', async () => {
    const rows = readSliceRows(600);
    const { sales } = await loadShopData(SLICE_PATH);
    const model = new PopularityModel();
    const servedHere = sales.filter((s) =>
      rows.some((r) => r.invoiceNo === s.invoiceNo),
    );
    // Row 600 may cut an invoice short; stop before it.
    servedHere.pop();
    expect(servedHere.length).toBeGreaterThan(20);

    for (const s of servedHere) {
      const expected = bruteForceTop(rows, s.invoiceNo, 10);
      expect(model.recommend({ timeMs: s.timeMs }, 10)).toEqual(expected);
      model.learn(s);
    }
  });

  it('matches brute force on the whole slice, window included', async () => {
    const rows = readSliceRows();
    const { sales } = await loadShopData(SLICE_PATH);
    const model = new PopularityModel();
    let windowMattered = false;

    for (const [index, s] of sales.entries()) {
      const got = model.recommend({ timeMs: s.timeMs }, 10);
      model.learn(s);
      if (index % 20 !== 0) continue;
      expect(got).toEqual(bruteForceTop(rows, s.invoiceNo, 10));
      const allTime = new PopularityModel(Infinity);
      for (const earlier of sales.slice(0, index)) allTime.learn(earlier);
      const unwindowed = allTime.recommend({ timeMs: s.timeMs }, 10);
      if (unwindowed.join() !== got.join()) windowMattered = true;
    }
    expect(windowMattered).toBe(true);
  });

  it('drops sales exactly 7 days old and keeps younger ones', () => {
    const model = new PopularityModel();
    const start = Date.UTC(2010, 11, 1, 9, 0);
    model.learn(sale('1', start, { '11111': 50 }));
    model.learn(sale('2', start + 3 * DAY, { '22222': 10, '33333': 20 }));
    model.learn(sale('3', start + 3 * DAY, { '22222': 15 }));

    expect(model.recommend({ timeMs: start + 7 * DAY - 1 }, 5)).toEqual([
      '11111',
      '22222',
      '33333',
    ]);
    expect(model.recommend({ timeMs: start + 7 * DAY }, 5)).toEqual([
      '22222',
      '33333',
    ]);
    expect(model.recommend({ timeMs: start + 10 * DAY }, 5)).toEqual([]);
  });
});

describe('CooccurrenceModel', () => {
  const t0 = Date.UTC(2010, 11, 1, 9, 0);

  function trained(): { model: CooccurrenceModel; popular: PopularityModel } {
    const popular = new PopularityModel();
    const model = new CooccurrenceModel(popular);
    const history = [
      sale('1', t0, { A0001: 1, B0001: 1, C0001: 1 }, 'alice'),
      sale('2', t0 + HOUR, { B0001: 1, C0001: 1, D0001: 1 }),
      sale('3', t0 + 2 * HOUR, { C0001: 1, E0001: 1 }, 'bob'),
      sale('4', t0 + 3 * HOUR, { F0001: 40, G0001: 30, A0001: 1 }),
    ];
    for (const s of history) {
      popular.learn(s);
      model.learn(s);
    }
    return { model, popular };
  }

  it('scores products bought together with the customer history', () => {
    // Alice owns A, B, C. Partners: of A {B1, C1, F1, G1}, of B {A1, C2, D1},
    // of C {A1, B2, D1, E1}; leaving out what she owns: D 2, F 1, G 1, E 1.
    const { model } = trained();
    const at = { timeMs: t0 + 4 * HOUR, customerId: 'alice' };
    const list = model.recommend(at, 4);
    expect(list).toEqual(['D0001', 'E0001', 'F0001', 'G0001']);
  });

  it('fills from popularity, skipping owned and listed products', () => {
    // Bob owns C, E. Partners: of C {A1, B2, D1, E1}, of E {C1}: B 2, A 1,
    // D 1. Popularity then: F 40, G 30 (A, B, D listed; C, E owned).
    const { model } = trained();
    const at = { timeMs: t0 + 4 * HOUR, customerId: 'bob' };
    const list = model.recommend(at, 6);
    expect(list).toEqual(['B0001', 'A0001', 'D0001', 'F0001', 'G0001']);
  });

  it('gives new customers and anonymous visits the popularity list', () => {
    const { model, popular } = trained();
    const at = t0 + 4 * HOUR;
    const expected = popular.recommend({ timeMs: at }, 3);
    expect(expected).toEqual(['F0001', 'G0001', 'C0001']);
    const carol = { timeMs: at, customerId: 'carol' };
    expect(model.recommend(carol, 3)).toEqual(expected);
    expect(model.recommend({ timeMs: at }, 3)).toEqual(expected);
  });

  it('uses only the most recent products of a long history', () => {
    const popular = new PopularityModel();
    const model = new CooccurrenceModel(popular, 2);
    // Old purchase X pairs with Y; the two newest, P and Q, pair with R.
    model.learn(sale('1', t0, { X0001: 1, Y0001: 1 }));
    model.learn(sale('2', t0, { P0001: 1, Q0001: 1, R0001: 1 }));
    model.learn(sale('3', t0 + HOUR, { X0001: 1 }, 'dave'));
    model.learn(sale('4', t0 + 2 * HOUR, { P0001: 1, Q0001: 1 }, 'dave'));
    const at = { timeMs: t0 + 3 * HOUR, customerId: 'dave' };
    const list = model.recommend(at, 5);
    expect(list).toEqual(['R0001']);
  });
});
