import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/sources/line-splitter.js';
import type { TailedLine } from '../../src/sources/line-splitter.js';

/** Pushes each piece as its own chunk and returns every line produced. */
function split(
  splitter: LineSplitter,
  pieces: Array<string | Buffer>,
): TailedLine[] {
  const out: TailedLine[] = [];
  for (const piece of pieces) {
    const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
    // A larger, dirty buffer: only the first `length` bytes may be read.
    const chunk = Buffer.alloc(bytes.length + 8, 'Z');
    bytes.copy(chunk);
    splitter.push(chunk, bytes.length, 'f.log', out);
  }
  return out;
}

describe('LineSplitter', () => {
  it('numbers complete lines and tracks offsets', () => {
    const splitter = new LineSplitter(100, 0, 0);
    const lines = split(splitter, ['ab\n\ncd\n']);

    expect(lines).toEqual([
      { text: 'ab', file: 'f.log', line: 1 },
      { text: '', file: 'f.log', line: 2 },
      { text: 'cd', file: 'f.log', line: 3 },
    ]);
    expect(splitter.readOffset).toBe(7);
    expect(splitter.lineStart).toBe(7);
    expect(splitter.line).toBe(3);
  });

  it('holds a partial line until its newline arrives', () => {
    const splitter = new LineSplitter(100, 10, 4);

    expect(split(splitter, ['one\ntw'])).toEqual([
      { text: 'one', file: 'f.log', line: 5 },
    ]);
    // "one\n" is 4 bytes past offset 10; "tw" is read but not delivered.
    expect(splitter.lineStart).toBe(14);
    expect(splitter.readOffset).toBe(16);

    expect(split(splitter, ['o', '\n'])).toEqual([
      { text: 'two', file: 'f.log', line: 6 },
    ]);
    expect(splitter.lineStart).toBe(18);
  });

  it('strips \\r of CRLF, also when \\r and \\n arrive apart', () => {
    const splitter = new LineSplitter(100, 0, 0);
    const lines = split(splitter, ['a\r\nb\r', '\nc\rd\n']);

    expect(lines.map((l) => l.text)).toEqual(['a', 'b', 'c\rd']);
  });

  it('keeps unknown line numbers unknown', () => {
    const splitter = new LineSplitter(100, 50, undefined);
    const lines = split(splitter, ['x\n']);

    expect(lines).toEqual([{ text: 'x', file: 'f.log', line: undefined }]);
  });

  it('decodes a UTF-8 character split between chunks', () => {
    const euro = Buffer.from('€\n'); // e2 82 ac 0a
    const splitter = new LineSplitter(100, 0, 0);
    const lines = split(splitter, [euro.subarray(0, 1), euro.subarray(1)]);

    expect(lines.map((l) => l.text)).toEqual(['€']);
  });

  it('replaces a too-long line with one marker and keeps counting', () => {
    const splitter = new LineSplitter(5, 0, 0);
    const lines = split(splitter, ['12345\n123456\nok\n']);

    expect(lines).toEqual([
      { text: '12345', file: 'f.log', line: 1 },
      { text: '', file: 'f.log', line: 2, tooLong: true },
      { text: 'ok', file: 'f.log', line: 3 },
    ]);
  });

  it('does not count the \\r of CRLF against the limit', () => {
    const splitter = new LineSplitter(5, 0, 0);
    const lines = split(splitter, ['123', '45\r', '\n']);

    expect(lines.map((l) => l.text)).toEqual(['12345']);
  });

  it('drops a too-long line spread over chunks and stays at its start', () => {
    const splitter = new LineSplitter(8, 0, 0);
    const first = split(splitter, ['ok\n', 'abcdef', 'ghijkl', 'mnop']);

    expect(first.map((l) => l.text)).toEqual(['ok']);
    // Nothing is delivered for the long line yet, so a saved offset must
    // still point at its start.
    expect(splitter.lineStart).toBe(3);
    expect(splitter.readOffset).toBe(19);

    const rest = split(splitter, ['qr\nnext\n']);
    expect(rest).toEqual([
      { text: '', file: 'f.log', line: 2, tooLong: true },
      { text: 'next', file: 'f.log', line: 3 },
    ]);
    expect(splitter.lineStart).toBe(27);
  });

  it('skips to the next line without a marker when asked', () => {
    const splitter = new LineSplitter(100, 0, undefined);
    splitter.skipToNextLine();
    const lines = split(splitter, ['tail of a line\nwhole\n']);

    expect(lines.map((l) => l.text)).toEqual(['whole']);
  });

  it('starts over after reset', () => {
    const splitter = new LineSplitter(100, 0, 0);
    split(splitter, ['a\nb\npartial']);
    splitter.reset(0, 0);
    const lines = split(splitter, ['c\n']);

    expect(lines).toEqual([{ text: 'c', file: 'f.log', line: 1 }]);
    expect(splitter.lineStart).toBe(2);
  });
});
