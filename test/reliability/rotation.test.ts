/**
 * Rotation torture: a writer process appends numbered lines while the log
 * is rotated every 5-20 ms, by rename or by copytruncate, and the real
 * Tailer follows it. The line numbers it hands over are compared, as sets,
 * with what was written.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import * as defs from '../../src/metrics/definitions.js';
import { MetricStore } from '../../src/metrics/store.js';
import { Tailer } from '../../src/sources/tail.js';
import type { TailedLine, TailerOptions } from '../../src/sources/tail.js';

const WRITER = fileURLToPath(new URL('./rotating-writer.mjs', import.meta.url));
const LINES = 20_000;

let dir: string;
let tailer: Tailer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ie-rotation-'));
});

afterEach(async () => {
  await tailer?.stop();
  tailer = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Runs the writer script to its end and returns its summary. */
function runScript(args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as Record<string, number>);
      else reject(new Error(`${args[0]} exited with ${code}: ${err}`));
    });
  });
}

/** The number of each complete numbered line in `text`. */
function numbersIn(text: string): number[] {
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return [...complete.matchAll(/"n":(\d+)\}/g)].map((m) => Number(m[1]));
}

interface Followed {
  numbers: number[];
  store: MetricStore;
}

async function follow(
  options: Pick<TailerOptions, 'paths'>,
): Promise<Followed> {
  const numbers: number[] = [];
  const store = new MetricStore();
  tailer = new Tailer(
    {
      fromBeginning: true,
      pollIntervalMillis: 5,
      maxLineBytes: 64 * 1024,
      log: createLogger({ level: 'error', write: () => {} }),
      store,
      ...options,
    },
    (batch: TailedLine[]) => {
      for (const line of batch) numbers.push(...numbersIn(line.text + '\n'));
    },
  );
  await tailer.start();
  return { numbers, store };
}

/** Waits until `count()` stops changing for a while, or reaches `target`. */
async function settle(count: () => number, target: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await tailer!.drain();
    const now = count();
    if (now !== last) [last, stableSince] = [now, Date.now()];
    if (now >= target && Date.now() - stableSince > 200) return;
    if (now < target && Date.now() - stableSince > 2000) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Line numbers of each copy in rotation order, then of the live file. */
async function generationsOf(log: string, copies: number): Promise<number[][]> {
  const files = Array.from({ length: copies }, (_, i) => `${log}.${i + 1}`);
  const out: number[][] = [];
  for (const file of [...files, log])
    out.push(numbersIn(await readFile(file, 'utf8')));
  return out;
}

function duplicates(numbers: number[]): number {
  return numbers.length - new Set(numbers).size;
}

describe('rotation torture', () => {
  it('loses and repeats nothing through renames every 5-20 ms', async () => {
    const log = join(dir, 'model-server.log');
    await writeFile(log, '');
    // The pattern also matches the rotated names, so a file that lived at
    // the path for less than one poll is still found under its new name.
    const followed = await follow({ paths: [`${log}*`] });

    const written = await runScript(['write', log, String(LINES), 'rename']);
    await settle(() => followed.numbers.length, LINES);

    const names = await readdir(dir);
    const rotatedFiles = names.filter((n) => /\.log\.\d+$/.test(n)).length;
    expect(written.rotations).toBeGreaterThanOrEqual(50);
    expect(rotatedFiles).toBe(written.rotations);
    expect(duplicates(followed.numbers)).toBe(0);
    const sorted = [...followed.numbers].sort((a, b) => a - b);
    expect(sorted).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    const report = {
      lines: LINES,
      rotations: written.rotations,
      lost: 0,
      duplicated: 0,
    };
    console.info(`rename rotation: ${JSON.stringify(report)}`);
  });

  it('through copytruncate every 5-20 ms, misses only the end of each copied generation, and repeats nothing', async () => {
    const log = join(dir, 'model-server.log');
    const stop = join(dir, 'stop');
    await writeFile(log, '');
    const followed = await follow({ paths: [log] });

    const rotator = runScript(['copytruncate', log, stop]);
    const written = await runScript(['write', log, String(LINES), 'append']);
    await writeFile(stop, '');
    const rotated = await rotator;
    await settle(() => followed.numbers.length, LINES);

    const generations = await generationsOf(log, rotated.rotations!);
    const present = generations.flat();
    const delivered = new Set(followed.numbers);
    expect(rotated.rotations).toBeGreaterThanOrEqual(50);
    expect(duplicates(present)).toBe(0);
    expect(duplicates(followed.numbers)).toBe(0);
    expect(followed.numbers.every((n) => n >= 1 && n <= written.lines!)).toBe(
      true,
    );

    // Each generation is delivered from its start: what the tailer had not
    // read when the copy was made is only in the copy, at its end.
    let missedAtEnd = 0;
    generations.forEach((numbers, g) => {
      const firstMissed = numbers.findIndex((n) => !delivered.has(n));
      const missed = firstMissed < 0 ? [] : numbers.slice(firstMissed);
      expect(
        missed.filter((n) => delivered.has(n)),
        `generation ${g}`,
      ).toEqual([]);
      missedAtEnd += missed.length;
    });
    const live = generations[generations.length - 1]!;
    expect(live.filter((n) => !delivered.has(n))).toEqual([]);

    const report = {
      lines: LINES,
      rotations: rotated.rotations,
      truncationsSeen: followed.store
        .counter(defs.ingest.rotations)
        .labels('truncate').value,
      delivered: delivered.size,
      duplicated: 0,
      missedAtEndOfCopies: missedAtEnd,
      inNoFile: LINES - present.length,
    };
    console.info(`copytruncate: ${JSON.stringify(report)}`);
  });
});
