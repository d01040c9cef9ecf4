/**
 * Splits the bytes of one file into lines and remembers where it stands:
 * the offset read so far, the start of the line not yet complete, and the
 * line number. Newlines are found with Buffer#indexOf and each line is
 * decoded once, so the cost per line stays a few native calls.
 */

/** One line handed to the consumer. */
export interface TailedLine {
  /** The line without its `\n` or `\r\n`; empty when `tooLong`. */
  text: string;
  /** The path the file had when the line was read. */
  file: string;
  /** 1-based line number, when the file was read from its start. */
  line: number | undefined;
  /** The line was longer than the limit and was dropped. */
  tooLong?: boolean;
}

const NEWLINE = 0x0a;
const RETURN = 0x0d;

/** What happens to bytes before the next newline. */
type Discard = 'none' | 'tooLong' | 'silent';

export class LineSplitter {
  /** File offset just past the bytes pushed so far. */
  readOffset: number;
  /** File offset where the first undelivered line starts. */
  lineStart: number;
  /** Lines before `lineStart`, when known. */
  line: number | undefined;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discard: Discard = 'none';

  constructor(
    private readonly maxLineBytes: number,
    offset: number,
    line: number | undefined,
  ) {
    this.readOffset = offset;
    this.lineStart = offset;
    this.line = line;
  }

  /** Starts over at `offset`, dropping any partial line. */
  reset(offset: number, line: number | undefined): void {
    this.readOffset = offset;
    this.lineStart = offset;
    this.line = line;
    this.dropPending();
    this.discard = 'none';
  }

  /**
   * Drops the bytes up to the next newline without a line for them, for a
   * start in the middle of a line whose beginning is out of reach.
   */
  skipToNextLine(): void {
    this.dropPending();
    this.discard = 'silent';
  }

  /**
   * Splits `chunk[0, length)`, which follows the bytes pushed before, and
   * appends complete lines to `out`. The chunk buffer may be reused after
   * this returns: a partial line is copied.
   */
  push(chunk: Buffer, length: number, file: string, out: TailedLine[]): void {
    const bytes = chunk.subarray(0, length);
    const base = this.readOffset;
    this.readOffset += length;

    let start = 0;
    while (start < length) {
      const newline = bytes.indexOf(NEWLINE, start);
      if (newline < 0) {
        this.keepPartial(bytes, start);
        return;
      }
      this.completeLine(bytes, start, newline, file, out);
      start = newline + 1;
      this.lineStart = base + start;
    }
  }

  private completeLine(
    bytes: Buffer,
    start: number,
    newline: number,
    file: string,
    out: TailedLine[],
  ): void {
    const discard = this.discard;
    this.discard = 'none';
    if (discard === 'silent') return;

    const line = this.line === undefined ? undefined : ++this.line;
    if (discard === 'tooLong') {
      out.push({ text: '', file, line, tooLong: true });
      return;
    }
    const text =
      this.pendingBytes === 0
        ? this.decode(bytes, start, newline)
        : this.decodeWithPending(bytes.subarray(start, newline));
    if (text === undefined) out.push({ text: '', file, line, tooLong: true });
    else out.push({ text, file, line });
  }

  /** The line in `bytes[start, end)` minus a `\r`; undefined when too long. */
  private decode(
    bytes: Buffer,
    start: number,
    end: number,
  ): string | undefined {
    if (end > start && bytes[end - 1] === RETURN) end--;
    if (end - start > this.maxLineBytes) return undefined;
    return bytes.toString('utf8', start, end);
  }

  private decodeWithPending(tail: Buffer): string | undefined {
    this.pending.push(tail);
    const whole = Buffer.concat(this.pending, this.pendingBytes + tail.length);
    this.dropPending();
    return this.decode(whole, 0, whole.length);
  }

  /**
   * Buffers an incomplete line. Past the limit (plus one byte for a `\r`)
   * the line can no longer be delivered, so its bytes are dropped and only
   * the marker is sent once its newline arrives: memory stays bounded.
   */
  private keepPartial(bytes: Buffer, start: number): void {
    if (this.discard !== 'none') return;
    const size = this.pendingBytes + bytes.length - start;
    if (size > this.maxLineBytes + 1) {
      this.dropPending();
      this.discard = 'tooLong';
      return;
    }
    this.pending.push(Buffer.from(bytes.subarray(start)));
    this.pendingBytes = size;
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}
