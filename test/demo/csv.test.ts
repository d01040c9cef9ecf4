import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import { CsvError, parseCsv } from '../../src/demo/csv.js';
import { SLICE_PATH } from './retail-rows.js';

// Real rows of UCI Online Retail (id 352, CC BY 4.0): the first three are
// lines 873, 1408 and 624 of data/online-retail/online-retail-sample.csv;
// the voucher row is line 38250 of the longer shared sample (2010-12-20),
// which the shipped slice does not reach.
const RECORD_FRAME =
  '536477,22041,"RECORD FRAME 7"" SINGLE SIZE ",48,2010-12-01T12:27,2.1,16210,United Kingdom';
const BUSY_SIGN =
  '536540,85071C,"CHARLIE+LOLA""EXTREMELY BUSY"" SIGN",6,2010-12-01T14:05,2.55,14911,EIRE';
const NO_CUSTOMER = '536414,22139,,56,2010-12-01T11:52,0,,United Kingdom';
const VOUCHER =
  '539492,gift_0001_40,Dotcomgiftshop Gift Voucher £40.00,1,2010-12-20T10:14,34.04,,United Kingdom';

describe('parseCsv on real shop rows', () => {
  it('undoubles quotes inside a quoted field and keeps its spaces', () => {
    const [frame, sign] = parseCsv(`${RECORD_FRAME}\r\n${BUSY_SIGN}\r\n`);
    expect(frame).toEqual([
      '536477',
      '22041',
      'RECORD FRAME 7" SINGLE SIZE ',
      '48',
      '2010-12-01T12:27',
      '2.1',
      '16210',
      'United Kingdom',
    ]);
    expect(sign?.[2]).toBe('CHARLIE+LOLA"EXTREMELY BUSY" SIGN');
    expect(sign).toHaveLength(8);
  });

  it('keeps empty Description and CustomerID as empty fields', () => {
    expect(parseCsv(NO_CUSTOMER)).toEqual([
      [
        '536414',
        '22139',
        '',
        '56',
        '2010-12-01T11:52',
        '0',
        '',
        'United Kingdom',
      ],
    ]);
  });

  it('keeps the pound sign of a gift voucher row', () => {
    const [voucher] = parseCsv(`${VOUCHER}\r\n`);
    expect(voucher?.[2]).toBe('Dotcomgiftshop Gift Voucher \u00a340.00');
    expect(voucher?.[6]).toBe('');
  });

  it('reads the whole shipped slice as 8-field records, one per CRLF', () => {
    const bytes = readFileSync(SLICE_PATH);
    // Every line ends in CRLF and nothing else breaks a line (checked below),
    // so the CRLF count is the record count, header included.
    const crlf = bytes.toString('latin1').split('\r\n').length - 1;
    expect(bytes.filter((b) => b === 0x0a).length).toBe(crlf);

    const records = parseCsv(bytes.toString('utf8'));
    expect(records).toHaveLength(crlf);
    expect(records).toHaveLength(22_524);
    expect(records.every((r) => r.length === 8)).toBe(true);
    expect(records[0]?.[0]).toBe('InvoiceNo');
    expect(records.at(-1)).toEqual([
      '538171',
      '21931',
      'JUMBO STORAGE BAG SUKI',
      '2',
      '2010-12-09T20:01',
      '1.95',
      '17530',
      'United Kingdom',
    ]);
  });
});

describe('parseCsv on the edges of RFC 4180', () => {
  it('keeps commas and line breaks inside quotes', () => {
    const text = 'a,"b,1","line\r\nbreak"\r\nx,y,z';
    expect(parseCsv(text)).toEqual([
      ['a', 'b,1', 'line\r\nbreak'],
      ['x', 'y', 'z'],
    ]);
  });

  it('takes LF ends, a last line without one; skips blank lines', () => {
    expect(parseCsv('h1,h2\n\n1,2\r\n\r\n3,')).toEqual([
      ['h1', 'h2'],
      ['1', '2'],
      ['3', ''],
    ]);
  });

  it('keeps a record of one quoted empty field, drops a BOM', () => {
    expect(parseCsv('\ufeffh\r\n""\r\n')).toEqual([['h'], ['']]);
  });

  it('names the line of an unclosed quote', () => {
    expect(() => parseCsv('h\r\nok\r\n"never closed\r\n')).toThrow(
      new CsvError('quoted field is never closed', 3),
    );
  });

  it('rejects text after a closing quote, naming its line', () => {
    const parse = (): string[][] => parseCsv('a\n"b"c,d\n');
    expect(parse).toThrow(CsvError);
    expect(parse).toThrow('line 2: text after a closing quote');
  });
});
