/**
 * Memory of the attribution join: a fresh process per size fills a join
 * with that many pending lists and reports its memory after a full GC.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemoryReading } from './memory-child.js';
import { repeat, spreadOf, type Spread } from './stats.js';

const CHILD = fileURLToPath(new URL('./memory-child.js', import.meta.url));
const RUN_TIMEOUT_MILLIS = 120_000;

export interface MemoryFigure {
  pending: number;
  rssBytes: Spread;
  heapUsedBytes: Spread;
  arrayBufferBytes: Spread;
}

function measure(pending: number, itemsFile: string): Promise<MemoryReading> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', CHILD, String(pending), itemsFile],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MILLIS);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`memory child exited with ${code}`));
      else resolve(JSON.parse(out) as MemoryReading);
    });
  });
}

export async function benchMemory(
  sizes: number[],
  itemIds: string[],
  dir: string,
  repetitions: number,
): Promise<MemoryFigure[]> {
  const itemsFile = join(dir, 'item-ids.json');
  await writeFile(itemsFile, JSON.stringify(itemIds));
  const figures: MemoryFigure[] = [];
  for (const pending of sizes) {
    const readings = await repeat(repetitions, () =>
      measure(pending, itemsFile),
    );
    figures.push({
      pending,
      rssBytes: spreadOf(readings, (r) => r.rssBytes),
      heapUsedBytes: spreadOf(readings, (r) => r.heapUsedBytes),
      arrayBufferBytes: spreadOf(readings, (r) => r.arrayBufferBytes),
    });
  }
  return figures;
}
