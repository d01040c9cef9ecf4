/**
 * A second, deliberately different reading of the shipped data slice, so
 * tests can check the demo against numbers it did not compute itself.
 *
 * In this slice only Description is ever quoted and no field holds a line
 * break, so a row splits on CRLF, takes InvoiceNo and StockCode from the
 * left of the line and the last five fields from the right, and never
 * needs to understand quoting at all.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SLICE_PATH = fileURLToPath(
  new URL('../../data/online-retail/online-retail-sample.csv', import.meta.url),
);

export interface RawRow {
  invoiceNo: string;
  stockCode: string;
  quantity: number;
  /** `YYYY-MM-DDTHH:MM` as written. */
  date: string;
  customerId: string;
}

/** Data rows of the slice, header dropped, read from both ends of each line. */
export function readSliceRows(limit = Infinity): RawRow[] {
  const lines = readFileSync(SLICE_PATH, 'utf8').split('\r\n');
  const rows: RawRow[] = [];
  for (const line of lines.slice(1)) {
    if (line === '' || rows.length >= limit) continue;
    const left = line.split(',');
    const right = line.split(',').reverse();
    rows.push({
      invoiceNo: left[0]!,
      stockCode: left[1]!,
      quantity: parseInt(right[4]!, 10),
      date: right[3]!,
      customerId: right[1]!,
    });
  }
  return rows;
}

/** A row that counts as a purchase of a product. */
export function isPurchase(row: RawRow): boolean {
  const digits = row.stockCode.slice(0, 5);
  const suffix = row.stockCode.slice(5);
  return (
    row.invoiceNo[0] !== 'C' &&
    row.quantity > 0 &&
    digits.length === 5 &&
    [...digits].every((c) => c >= '0' && c <= '9') &&
    [...suffix].every((c) => c.toLowerCase() !== c.toUpperCase())
  );
}

/** Invoice numbers with at least one product bought, in first-seen order. */
export function servedInvoices(rows: RawRow[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) if (isPurchase(row)) seen.add(row.invoiceNo);
  return [...seen];
}
