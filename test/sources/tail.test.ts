import {
  appendFile,
  mkdir,
  mkdtemp,
  open,
  rename,
  rm,
  symlink,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingest } from '../../src/metrics/definitions.js';
import type { MetricDefinition } from '../../src/metrics/definitions.js';
import { MetricStore } from '../../src/metrics/store.js';
import { createLogger } from '../../src/log.js';
import { createTailMetrics, Tailer } from '../../src/sources/tail.js';
import type { TailedLine, TailerOptions } from '../../src/sources/tail.js';

interface Harness {
  tailer: Tailer;
  lines: TailedLine[];
  logs: string[];
  store: MetricStore;
}

let dir: string;
const running: Tailer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tail-test-'));
});

afterEach(async () => {
  for (const tailer of running.splice(0)) await tailer.stop();
  await rm(dir, { recursive: true, force: true });
});

async function startTailer(
  options: Partial<TailerOptions> & { paths: string[] },
  onLines?: (batch: TailedLine[]) => void,
): Promise<Harness> {
  const lines: TailedLine[] = [];
  const logs: string[] = [];
  const store = new MetricStore();
  const tailer = new Tailer(
    {
      fromBeginning: false,
      pollIntervalMillis: 10,
      maxLineBytes: 1024,
      log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
      metrics: createTailMetrics(store),
      ...options,
    },
    onLines ?? ((batch) => lines.push(...batch)),
  );
  running.push(tailer);
  await tailer.start();
  return { tailer, lines, logs, store };
}

/** Polls `condition` every 5 ms, failing after `timeoutMillis`. */
async function waitFor(
  condition: () => boolean,
  timeoutMillis = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMillis;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function value(
  store: MetricStore,
  def: MetricDefinition,
  ...labels: string[]
): number {
  const family = store.get(def.name);
  const child = family?.children.get(labels.join('\u0000'));
  return (child?.child as { value: number } | undefined)?.value ?? 0;
}

const texts = (lines: TailedLine[]): string[] => lines.map((l) => l.text);

/** Lines "1\n" to "n\n" for numbers in [from, to]. */
function numbered(from: number, to: number): string {
  let out = '';
  for (let i = from; i <= to; i++) out += `${i}\n`;
  return out;
}

describe('Tailer start position', () => {
  it('reads files present at start from the beginning when asked', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'a\nb\nc\n');
    const { tailer, lines, store } = await startTailer({
      paths: [path],
      fromBeginning: true,
    });
    await tailer.drain();

    expect(lines).toEqual([
      { text: 'a', file: path, line: 1 },
      { text: 'b', file: path, line: 2 },
      { text: 'c', file: path, line: 3 },
    ]);
    expect(value(store, ingest.bytes)).toBe(6);
    expect(value(store, ingest.files)).toBe(1);
    expect(tailer.positions()).toMatchObject([{ path, offset: 6, line: 3 }]);
  });

  it('starts at the end, delivering a line in progress whole', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'old1\nold2\npart');
    const { tailer, lines } = await startTailer({ paths: [path] });
    await tailer.drain();
    expect(lines).toEqual([]);

    await appendFile(path, 'ial\nnew\r\n');
    await tailer.drain();
    expect(lines).toEqual([
      { text: 'partial', file: path, line: undefined },
      { text: 'new', file: path, line: undefined },
    ]);
  });

  it('holds a partial line until its newline is written', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const { tailer, lines } = await startTailer({ paths: [path] });

    await appendFile(path, 'first\r\nsec');
    await tailer.drain();
    expect(texts(lines)).toEqual(['first']);
    // The saved offset stops before the partial line.
    expect(tailer.positions()[0]?.offset).toBe(7);

    await appendFile(path, 'ond\r\n');
    await tailer.drain();
    expect(lines).toEqual([
      { text: 'first', file: path, line: 1 },
      { text: 'second', file: path, line: 2 },
    ]);
  });
});

describe('Tailer discovery', () => {
  it('picks up a new file that comes to match a glob, from its start', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    await writeFile(a, 'skipped\n');
    const { tailer, lines, store } = await startTailer({
      paths: [join(dir, '*.log')],
    });
    await tailer.drain();

    await writeFile(b, 'b1\nb2\n');
    await writeFile(join(dir, 'b.txt'), 'not matched\n');
    await tailer.drain();

    expect(lines).toEqual([
      { text: 'b1', file: b, line: 1 },
      { text: 'b2', file: b, line: 2 },
    ]);
    expect(value(store, ingest.files)).toBe(2);
  });

  it('reports a missing file once, then reads it from 0 when it appears', async () => {
    const path = join(dir, 'later.log');
    const { tailer, lines, logs, store } = await startTailer({ paths: [path] });
    await tailer.drain();
    await tailer.drain();

    const missing = () => logs.filter((l) => l.includes('not found'));
    expect(missing()).toHaveLength(1);
    expect(missing()[0]).toContain(path);
    expect(value(store, ingest.errors, 'stat')).toBeGreaterThanOrEqual(3);

    await writeFile(path, 'x\ny\n');
    await tailer.drain();
    expect(lines).toEqual([
      { text: 'x', file: path, line: 1 },
      { text: 'y', file: path, line: 2 },
    ]);
  });

  it('reports a literal path that is not a regular file, without throwing', async () => {
    const path = join(dir, 'a-directory');
    await mkdir(path);
    const { tailer, store, lines } = await startTailer({ paths: [path] });
    await tailer.drain();

    expect(lines).toEqual([]);
    expect(value(store, ingest.errors, 'stat')).toBeGreaterThanOrEqual(1);
  });

  it('reads a file reached by two paths once', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'one\n');
    await symlink(path, join(dir, 'current.log'));
    const { tailer, lines } = await startTailer({
      paths: [join(dir, '*.log')],
      fromBeginning: true,
    });
    await tailer.drain();

    expect(texts(lines)).toEqual(['one']);
    expect(tailer.positions()).toHaveLength(1);
  });
});

describe('Tailer lines', () => {
  it('replaces a too-long line with a marker and goes on', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, `short\n${'x'.repeat(25)}\nafter\n`);
    const { tailer, lines } = await startTailer({
      paths: [path],
      fromBeginning: true,
      maxLineBytes: 10,
    });
    await tailer.drain();

    expect(lines).toEqual([
      { text: 'short', file: path, line: 1 },
      { text: '', file: path, line: 2, tooLong: true },
      { text: 'after', file: path, line: 3 },
    ]);
  });

  it('reads a file larger than one chunk exactly once', async () => {
    const path = join(dir, 'big.log');
    // About 1.3 MB in lines of varied length, crossing many chunk edges.
    const count = 20_000;
    let content = '';
    for (let i = 1; i <= count; i++) content += `${i}:${'y'.repeat(i % 97)}\n`;
    await writeFile(path, content);
    const { tailer, lines, store } = await startTailer({
      paths: [path],
      fromBeginning: true,
    });
    await tailer.drain();

    expect(lines).toHaveLength(count);
    expect(lines.every((l, i) => l.line === i + 1)).toBe(true);
    expect(lines.every((l, i) => l.text.startsWith(`${i + 1}:`))).toBe(true);
    expect(value(store, ingest.bytes)).toBe(Buffer.byteLength(content));
  });

  it('counts a throwing consumer as an error and keeps tailing', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const seen: string[] = [];
    const { tailer, store } = await startTailer({ paths: [path] }, (batch) => {
      seen.push(...texts(batch));
      throw new Error('consumer bug');
    });

    await appendFile(path, 'a\n');
    await tailer.drain();
    await appendFile(path, 'b\n');
    await tailer.drain();

    expect(seen).toEqual(['a', 'b']);
    expect(value(store, ingest.errors, 'deliver')).toBe(2);
  });
});

describe('Tailer rotation', () => {
  it('counts every line once through rename rotations while writing', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const { tailer, lines, store } = await startTailer({
      paths: [path],
      pollIntervalMillis: 2,
    });
    const total = 5000;
    const rotations = 4;
    let writer = await open(path, 'a');
    let next = 1;
    const write = async (count: number) => {
      const last = Math.min(total, next + count - 1);
      await writer.write(numbered(next, last));
      next = last + 1;
    };

    for (let generation = 1; generation <= rotations; generation++) {
      while (next <= (generation * total) / (rotations + 1)) await write(7);
      await rename(path, `${path}.${generation}`);
      // A writer keeps its descriptor for a while after the rename.
      await write(5);
      await writer.close();
      writer = await open(path, 'a');
      await write(3);
      const seen = () => value(store, ingest.rotations, 'rename');
      await waitFor(() => seen() >= generation);
    }
    while (next <= total) await write(7);
    await writer.close();
    await tailer.drain();

    const received = lines.map((l) => Number(l.text));
    expect(received).toHaveLength(total);
    expect(new Set(received).size).toBe(total);
    expect(Math.min(...received)).toBe(1);
    expect(Math.max(...received)).toBe(total);
    expect(value(store, ingest.rotations, 'rename')).toBe(rotations);
    expect(value(store, ingest.rotations, 'truncate')).toBe(0);
  });

  it('follows renamed files that the glob still matches without rereading', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, numbered(1, 3));
    const { tailer, lines, store } = await startTailer({
      paths: [join(dir, 'app.log*')],
      fromBeginning: true,
    });
    await tailer.drain();

    await rename(path, `${path}.1`);
    await appendFile(`${path}.1`, numbered(4, 5));
    await writeFile(path, numbered(6, 7));
    await tailer.drain();

    expect(texts(lines)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(lines[4]).toEqual({ text: '5', file: `${path}.1`, line: 5 });
    expect(lines[5]).toEqual({ text: '6', file: path, line: 1 });
    expect(value(store, ingest.rotations, 'rename')).toBe(1);
  });

  it('restarts at 0 after copytruncate', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'line one\nline two\nline three\n');
    const { tailer, lines, store } = await startTailer({
      paths: [path],
      fromBeginning: true,
    });
    await tailer.drain();

    await truncate(path, 0);
    await appendFile(path, 'new1\nnew2\n');
    await tailer.drain();

    expect(texts(lines)).toEqual([
      'line one',
      'line two',
      'line three',
      'new1',
      'new2',
    ]);
    expect(lines[3]?.line).toBe(1);
    expect(value(store, ingest.rotations, 'truncate')).toBe(1);
  });

  it('finishes a deleted file from its open descriptor, then closes it', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const { tailer, lines, store } = await startTailer({
      paths: [path],
      rotateWaitMillis: 0,
    });
    const writer = await open(path, 'a');
    await writer.write('a\nb\n');
    await tailer.drain();

    await unlink(path);
    await writer.write('c\nd\n');
    await writer.close();
    await tailer.drain();

    expect(texts(lines)).toEqual(['a', 'b', 'c', 'd']);
    expect(value(store, ingest.files)).toBe(0);
    expect(tailer.positions()).toEqual([]);
  });
});

describe('Tailer restart', () => {
  it('resumes from saved positions with exactly the new lines', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, numbered(1, 3));
    const first = await startTailer({ paths: [path], fromBeginning: true });
    await first.tailer.drain();
    await first.tailer.stop();
    const saved = first.tailer.positions();
    expect(saved).toMatchObject([{ path, offset: 6, line: 3 }]);

    await appendFile(path, numbered(4, 6) + '7');
    const second = await startTailer({
      paths: [path],
      initialPositions: saved,
    });
    await second.tailer.drain();
    expect(second.lines).toEqual([
      { text: '4', file: path, line: 4 },
      { text: '5', file: path, line: 5 },
      { text: '6', file: path, line: 6 },
    ]);

    await appendFile(path, '\n');
    await second.tailer.drain();
    expect(second.lines[3]).toEqual({ text: '7', file: path, line: 7 });
  });

  it('reads the remainder of a file rotated while stopped, then the new one', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, numbered(1, 3));
    const first = await startTailer({ paths: [path], fromBeginning: true });
    await first.tailer.drain();
    await first.tailer.stop();

    await appendFile(path, numbered(4, 5));
    await rename(path, `${path}.1`);
    await writeFile(path, numbered(6, 7));
    const second = await startTailer({
      paths: [path],
      initialPositions: first.tailer.positions(),
    });
    await second.tailer.drain();

    expect(second.lines).toEqual([
      { text: '4', file: `${path}.1`, line: 4 },
      { text: '5', file: `${path}.1`, line: 5 },
      { text: '6', file: path, line: 1 },
      { text: '7', file: path, line: 2 },
    ]);
    expect(value(second.store, ingest.rotations, 'rename')).toBe(1);
  });

  it('resumes files shifted down a numbered chain while stopped', async () => {
    const path = join(dir, 'app.log');
    await writeFile(`${path}.1`, numbered(1, 2));
    await writeFile(path, numbered(3, 4));
    const pattern = join(dir, 'app.log*');
    const first = await startTailer({ paths: [pattern], fromBeginning: true });
    await first.tailer.drain();
    await first.tailer.stop();
    expect(texts(first.lines).sort()).toEqual(['1', '2', '3', '4']);

    await appendFile(path, numbered(5, 5));
    await rename(`${path}.1`, `${path}.2`);
    await rename(path, `${path}.1`);
    await writeFile(path, numbered(6, 6));
    const second = await startTailer({
      paths: [pattern],
      initialPositions: first.tailer.positions(),
    });
    await second.tailer.drain();

    expect(second.lines).toEqual([
      { text: '5', file: `${path}.1`, line: 3 },
      { text: '6', file: path, line: 1 },
    ]);
    expect(value(second.store, ingest.rotations, 'rename')).toBe(1);
  });

  it('ignores saved positions of files another tailer follows', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    await writeFile(a, 'a1\n');
    await writeFile(b, 'b1\n');
    const firstA = await startTailer({ paths: [a], fromBeginning: true });
    const firstB = await startTailer({ paths: [b], fromBeginning: true });
    await Promise.all([firstA.tailer.drain(), firstB.tailer.drain()]);
    await Promise.all([firstA.tailer.stop(), firstB.tailer.stop()]);
    // One positions file holds the entries of every tailer.
    const saved = [...firstA.tailer.positions(), ...firstB.tailer.positions()];

    await appendFile(a, 'a2\n');
    await appendFile(b, 'b2\n');
    const second = await startTailer({ paths: [a], initialPositions: saved });
    await second.tailer.drain();

    expect(second.lines).toEqual([{ text: 'a2', file: a, line: 2 }]);
    expect(second.tailer.positions()).toHaveLength(1);
  });

  it('reads a file from 0 when it shrank while stopped', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, numbered(1, 9));
    const first = await startTailer({ paths: [path], fromBeginning: true });
    await first.tailer.drain();
    await first.tailer.stop();

    await truncate(path, 0);
    await appendFile(path, 'x\n');
    const second = await startTailer({
      paths: [path],
      initialPositions: first.tailer.positions(),
    });
    await second.tailer.drain();

    expect(second.lines).toEqual([{ text: 'x', file: path, line: 1 }]);
    expect(value(second.store, ingest.rotations, 'truncate')).toBe(1);
  });
});

describe('Tailer options', () => {
  it('makes its metrics from a store when given one', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, 'abc\n');
    const store = new MetricStore();
    // The caller may register the shared error counter first.
    store.counter(ingest.errors);
    const tailer = new Tailer(
      {
        paths: [path, join(dir, 'missing.log')],
        fromBeginning: true,
        pollIntervalMillis: 10,
        maxLineBytes: 100,
        log: createLogger({ write: () => {} }),
        store,
      },
      () => {},
    );
    running.push(tailer);
    await tailer.start();
    await tailer.drain();

    expect(value(store, ingest.bytes)).toBe(4);
    expect(value(store, ingest.files)).toBe(1);
    expect(value(store, ingest.errors, 'stat')).toBeGreaterThanOrEqual(1);
  });

  it('rejects bad options naming the key and value', () => {
    const base: TailerOptions = {
      paths: ['x.log'],
      fromBeginning: false,
      pollIntervalMillis: 100,
      maxLineBytes: 10,
      log: createLogger({ write: () => {} }),
    };
    expect(() => new Tailer({ ...base, paths: [] }, () => {})).toThrow(
      'tail: paths must list at least one non-empty path, got []',
    );
    expect(() => new Tailer({ ...base, maxLineBytes: 0 }, () => {})).toThrow(
      'tail: maxLineBytes must be a positive integer, got 0',
    );
    expect(
      () => new Tailer({ ...base, pollIntervalMillis: -5 }, () => {}),
    ).toThrow('tail: pollIntervalMillis must be a positive number, got -5');
  });
});
