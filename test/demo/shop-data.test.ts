import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  isProductCode,
  loadShopData,
  salesFromRecords,
} from '../../src/demo/shop-data.js';
import {
  isPurchase,
  readSliceRows,
  servedInvoices,
  SLICE_PATH,
} from './retail-rows.js';

const HEADER =
  'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

function csvRecords(lines: string[]): string[][] {
  return [HEADER, ...lines].map((line) => line.split(','));
}

describe('isProductCode', () => {
  it('takes five digits with an optional letter suffix, nothing else', () => {
    const products = ['85123A', '71053', '15056BL', '84997c'];
    const others = ['POST', 'M', 'D', 'DOT', 'BANK CHARGES', '123456'];
    const alsoOthers = ['AMAZONFEE', 'DCGS0076', 'gift_0001_40', 'C2', '1234'];
    expect(products.every(isProductCode)).toBe(true);
    expect([...others, ...alsoOthers].some(isProductCode)).toBe(false);
  });
});

describe('salesFromRecords', () => {
  it('groups consecutive rows into sales of products only', () => {
    const data = salesFromRecords(
      csvRecords([
        '1,11111,a,2,2010-12-01T08:26,1,17850,UK',
        '1,POST,postage,1,2010-12-01T08:26,18,17850,UK',
        '1,22222A,b,3,2010-12-01T08:27,1,17850,UK',
        '1,11111,a,5,2010-12-01T08:27,1,17850,UK',
        '1,33333,c,-4,2010-12-01T08:27,1,17850,UK',
        'C2,11111,a,-2,2010-12-01T09:00,1,17850,UK',
        '3,M,manual,1,2010-12-01T09:30,5,,UK',
        '4,44444,d,0,2010-12-01T10:00,1,,UK',
        '4,55555,e,1,2010-12-01T10:00,1,,UK',
      ]),
    );
    expect(data.sales).toEqual([
      {
        invoiceNo: '1',
        timeMs: Date.UTC(2010, 11, 1, 8, 26),
        customerId: '17850',
        purchases: [
          { code: '11111', units: 7 },
          { code: '22222A', units: 3 },
        ],
      },
      {
        invoiceNo: '4',
        timeMs: Date.UTC(2010, 11, 1, 10, 0),
        purchases: [{ code: '55555', units: 1 }],
      },
    ]);
    expect(data.rows).toBe(9);
    expect(data.skippedInvoices).toBe(2);
    expect(data.badRows).toBe(0);
  });

  it('counts rows with a bad quantity or date instead of failing', () => {
    const data = salesFromRecords(
      csvRecords([
        '1,11111,a,two,2010-12-01T08:26,1,17850,UK',
        '1,11111,a,2,12/1/2010 8:26,1,17850,UK',
        '1,11111,a,2,2010-13-45T08:26,1,17850,UK',
        '1,11111,a',
        '1,11111,a,2,2010-12-01T08:26,1,17850,UK',
      ]),
    );
    expect(data.badRows).toBe(4);
    expect(data.sales.map((s) => s.purchases)).toEqual([
      [{ code: '11111', units: 2 }],
    ]);
  });

  it('names a missing column', () => {
    expect(() => salesFromRecords([['InvoiceNo', 'StockCode']])).toThrow(
      'header has no Quantity column',
    );
  });
});

describe('loadShopData', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shop-data-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds as many sales in the slice as an independent count', async () => {
    const data = await loadShopData(SLICE_PATH);
    const rows = readSliceRows();
    const invoices = new Set(rows.map((r) => r.invoiceNo));
    const served = servedInvoices(rows);

    expect(data.rows).toBe(22_523);
    expect(data.badRows).toBe(0);
    expect(data.sales.map((s) => s.invoiceNo)).toEqual(served);
    expect(data.skippedInvoices).toBe(invoices.size - served.length);

    const expected = new Map<string, Record<string, number>>();
    for (const row of rows.filter(isPurchase)) {
      const units = expected.get(row.invoiceNo) ?? {};
      units[row.stockCode] = (units[row.stockCode] ?? 0) + row.quantity;
      expected.set(row.invoiceNo, units);
    }
    for (const sale of data.sales) {
      const units = Object.fromEntries(
        sale.purchases.map((p) => [p.code, p.units]),
      );
      expect(units).toEqual(expected.get(sale.invoiceNo));
    }
  });

  it('reads UTF-8 and skips an invoice of gift vouchers only', async () => {
    // Line 38250 of the longer shared sample of UCI Online Retail.
    const voucher =
      '539492,gift_0001_40,Dotcomgiftshop Gift Voucher \u00a340.00,1,2010-12-20T10:14,34.04,,United Kingdom';
    const file = join(dir, 'vouchers.csv');
    await writeFile(file, `${HEADER}\r\n${voucher}\r\n`, 'utf8');
    const data = await loadShopData(file);
    expect(data).toEqual({
      sales: [],
      rows: 1,
      badRows: 0,
      skippedInvoices: 1,
    });
  });

  it('names the file it cannot read, or whose header is wrong', async () => {
    const missing = join(dir, 'missing.csv');
    await expect(loadShopData(missing)).rejects.toThrow(
      `cannot read shop data file ${missing}: ENOENT`,
    );
    const wrong = join(dir, 'wrong.csv');
    await writeFile(wrong, 'a,b\r\n1,2\r\n');
    await expect(loadShopData(wrong)).rejects.toThrow(
      `bad shop data file ${wrong}: header has no InvoiceNo column`,
    );
  });
});
