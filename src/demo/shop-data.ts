/**
 * Turns the Online Retail CSV (see data/online-retail/README.md) into the
 * sales the demo replays: one per invoice, holding only real products bought.
 */
import { readFile } from 'node:fs/promises';

import { errText } from '../log.js';
import { parseCsv } from './csv.js';

/** A product code is five digits, then any variant letters (`85123A`). */
const PRODUCT_CODE = /^\d{5}[A-Za-z]*$/;

/** InvoiceDate as the data file writes it: `YYYY-MM-DDTHH:MM`, no zone. */
const INVOICE_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;

const COLUMNS = [
  'InvoiceNo',
  'StockCode',
  'Quantity',
  'InvoiceDate',
  'CustomerID',
] as const;

/** Units of one product on one invoice. */
export interface ProductPurchase {
  code: string;
  units: number;
}

/** One invoice that bought at least one product. */
export interface ShopSale {
  invoiceNo: string;
  /** Time of the invoice's first row, read as UTC, ms since the epoch. */
  timeMs: number;
  /** Absent for invoices without a CustomerID. */
  customerId?: string;
  /** Distinct products in order of first appearance, units summed. */
  purchases: ProductPurchase[];
}

/** What came out of one data file. */
export interface ShopData {
  sales: ShopSale[];
  /** Data rows in the file, header not counted. */
  rows: number;
  /** Rows with a bad Quantity or InvoiceDate, or too few fields. */
  badRows: number;
  /** Cancellations, and invoices with no product bought (fees, postage). */
  skippedInvoices: number;
}

/** True for a StockCode that names a product rather than a fee or charge. */
export function isProductCode(stockCode: string): boolean {
  return PRODUCT_CODE.test(stockCode);
}

interface ShopRow {
  invoiceNo: string;
  stockCode: string;
  quantity: number;
  timeMs: number;
  customerId: string;
}

function columnIndexes(header: string[]): number[] {
  return COLUMNS.map((name) => {
    const index = header.indexOf(name);
    if (index === -1) throw new Error(`header has no ${name} column`);
    return index;
  });
}

/** InvoiceDate as UTC milliseconds, NaN when it is not a date. */
function invoiceTimeMs(date: string): number {
  if (!INVOICE_DATE.test(date)) return NaN;
  return Date.parse(date.length === 16 ? `${date}:00Z` : `${date}Z`);
}

function toShopRow(record: string[], indexes: number[]): ShopRow | undefined {
  const [invoiceNo, stockCode, quantity, date, customerId] = indexes.map(
    (i) => record[i],
  );
  if (customerId === undefined || !invoiceNo || stockCode === undefined) {
    return undefined;
  }
  const timeMs = invoiceTimeMs(date ?? '');
  if (!/^-?\d+$/.test(quantity ?? '') || Number.isNaN(timeMs)) {
    return undefined;
  }
  return {
    invoiceNo,
    stockCode: stockCode.trim(),
    quantity: Number(quantity),
    timeMs,
    customerId: customerId.trim(),
  };
}

/** The sale an invoice's rows make, or undefined when nothing was bought. */
function toSale(rows: ShopRow[]): ShopSale | undefined {
  const first = rows[0];
  if (!first || first.invoiceNo.startsWith('C')) return undefined;

  const units = new Map<string, number>();
  for (const row of rows) {
    if (row.quantity <= 0 || !isProductCode(row.stockCode)) continue;
    units.set(row.stockCode, (units.get(row.stockCode) ?? 0) + row.quantity);
  }
  if (units.size === 0) return undefined;

  const customerId = rows.find((row) => row.customerId !== '')?.customerId;
  const purchases = [...units].map(([code, n]) => ({ code, units: n }));
  const sale: ShopSale = {
    invoiceNo: first.invoiceNo,
    timeMs: first.timeMs,
    purchases,
  };
  if (customerId !== undefined) sale.customerId = customerId;
  return sale;
}

/**
 * Groups CSV records (header first) into sales. An invoice is the run of
 * consecutive rows sharing an InvoiceNo, kept in file order. Throws when
 * the header lacks a needed column.
 */
export function salesFromRecords(records: string[][]): ShopData {
  const [header, ...body] = records;
  if (!header) throw new Error('file is empty');
  const indexes = columnIndexes(header);
  const data: ShopData = {
    sales: [],
    rows: body.length,
    badRows: 0,
    skippedInvoices: 0,
  };

  let invoiceRows: ShopRow[] = [];
  const closeInvoice = (): void => {
    if (invoiceRows.length === 0) return;
    const sale = toSale(invoiceRows);
    if (sale) data.sales.push(sale);
    else data.skippedInvoices += 1;
    invoiceRows = [];
  };

  for (const record of body) {
    const row = toShopRow(record, indexes);
    if (!row) {
      data.badRows += 1;
      continue;
    }
    if (invoiceRows[0]?.invoiceNo !== row.invoiceNo) closeInvoice();
    invoiceRows.push(row);
  }
  closeInvoice();
  return data;
}

/** Reads and groups a shop data file; errors name the file. */
export async function loadShopData(path: string): Promise<ShopData> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read shop data file ${path}: ${errText(err)}`);
  }
  try {
    return salesFromRecords(parseCsv(text));
  } catch (err) {
    throw new Error(`bad shop data file ${path}: ${errText(err)}`);
  }
}
