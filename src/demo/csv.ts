/**
 * A small RFC 4180 reader: comma-separated fields, double-quoted fields that
 * may hold commas, line breaks and doubled quotes, CRLF or LF line ends. The
 * shop data is a few megabytes, so it is read whole rather than streamed.
 */

/** A CSV text that breaks the quoting rules, with the line it was found on. */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

interface FieldRead {
  value: string;
  /** Index of the character after the field: a comma, a line end or EOF. */
  end: number;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; ) {
    line += 1;
    i = text.indexOf('\n', i + 1);
  }
  return line;
}

function readQuoted(text: string, start: number): FieldRead {
  let value = '';
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) {
      throw new CsvError('quoted field is never closed', lineAt(text, start));
    }
    value += text.slice(from, quote);
    if (text[quote + 1] !== '"') return checkFieldEnd(text, value, quote + 1);
    // A doubled quote inside a quoted field stands for one quote.
    value += '"';
    from = quote + 2;
  }
}

function checkFieldEnd(text: string, value: string, end: number): FieldRead {
  const next = text[end];
  if (next === undefined || next === ',' || next === '\r' || next === '\n') {
    return { value, end };
  }
  throw new CsvError('text after a closing quote', lineAt(text, end));
}

function readPlain(text: string, start: number): FieldRead {
  let end = start;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    // 44 is ',', 13 is CR, 10 is LF.
    if (c === 44 || c === 13 || c === 10) break;
    end += 1;
  }
  return { value: text.slice(start, end), end };
}

/** Index just past the line end at `index`, or `index` itself at EOF. */
function skipLineEnd(text: string, index: number): number {
  if (text[index] === '\r' && text[index + 1] === '\n') return index + 2;
  return index < text.length ? index + 1 : index;
}

/**
 * Every record of a CSV text, header included, as arrays of field values.
 * Blank lines are skipped; a byte order mark at the start is dropped.
 * Throws `CsvError` on an unclosed quote or text after a closing quote.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fields: string[] = [];
  let recordStart = pos;

  while (pos < text.length) {
    const field =
      text[pos] === '"' ? readQuoted(text, pos) : readPlain(text, pos);
    fields.push(field.value);
    if (text[field.end] === ',') {
      pos = field.end + 1;
      // A comma as the very last character still opens one empty field.
      if (pos === text.length) fields.push('');
      continue;
    }
    // A line with nothing on it at all is blank, not a record of one field.
    if (field.end > recordStart || fields.length > 1) records.push(fields);
    fields = [];
    pos = skipLineEnd(text, field.end);
    recordStart = pos;
  }
  if (fields.length > 0) records.push(fields);
  return records;
}
