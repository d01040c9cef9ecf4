/**
 * The benchmark's input: a log in the exporter's JSON Lines schema, made by
 * replaying the real shop data once (the demo model server serving each
 * invoice) and then repeating that lap with the same shift the looping
 * replay uses: times move on by whole days, and request ids and anonymous
 * session keys get a lap suffix, so every lap joins like a fresh one.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReplay } from '../src/demo/replay.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The Online Retail sample bundled in the repository. */
export const SHOP_DATA = fileURLToPath(
  new URL('../../data/online-retail/online-retail-sample.csv', import.meta.url),
);

/** A generated log and what it holds. */
export interface Workload {
  path: string;
  lines: number;
  bytes: number;
  inferenceLines: number;
  /** Distinct product codes bought in the lap, in order of first sight. */
  itemIds: string[];
}

/** The lines of one replay of at most `invoices` invoices. */
async function replayLap(dir: string, invoices?: number): Promise<string[]> {
  const lapPath = join(dir, 'lap.jsonl');
  await runReplay({
    dataPath: process.env.BENCH_SHOP_DATA ?? SHOP_DATA,
    output: lapPath,
    clock: 'source',
    speedup: 0,
    progress: false,
    limit: invoices,
  });
  const text = await readFile(lapPath, 'utf8');
  return text.split('\n').filter((line) => line !== '');
}

/** Whole days from the lap's first day to the day after its last. */
function lapShiftMillis(lines: readonly string[]): number {
  const timeOf = (line: string): number => Date.parse(JSON.parse(line).time);
  const firstDay = Math.floor(timeOf(lines[0]!) / DAY_MS);
  const lastDay = Math.floor(timeOf(lines.at(-1)!) / DAY_MS);
  return (lastDay - firstDay + 1) * DAY_MS;
}

/** A lap's line as it reads in lap `lap` (1-based). */
function shiftLine(line: string, lap: number, shiftMs: number): string {
  if (lap === 1) return line;
  const event = JSON.parse(line) as Record<string, unknown>;
  const timeMs = Date.parse(event.time as string) + (lap - 1) * shiftMs;
  event.time = new Date(timeMs).toISOString();
  if (typeof event.request_id === 'string') {
    event.request_id = `${event.request_id}.${lap}`;
  }
  if (typeof event.user === 'string' && event.user.startsWith('session-')) {
    event.user = `${event.user}.${lap}`;
  }
  return JSON.stringify(event);
}

function boughtItems(lines: readonly string[]): string[] {
  const items = new Set<string>();
  for (const line of lines) {
    const event = JSON.parse(line) as { type: string; item?: string };
    if (event.type === 'feedback' && event.item) items.add(event.item);
  }
  return [...items];
}

/**
 * Writes exactly `lines` lines to `dir/inference.jsonl`. Only as many
 * invoices as the size needs are replayed (`invoicesPerLap` caps a lap).
 */
export async function makeWorkload(
  dir: string,
  lines: number,
  invoicesPerLap?: number,
): Promise<Workload> {
  const lap = await replayLap(dir, invoicesPerLap);
  const shiftMs = lapShiftMillis(lap);
  const path = join(dir, 'inference.jsonl');
  const out = createWriteStream(path);
  let written = 0;
  let bytes = 0;
  let inferenceLines = 0;
  for (let n = 1; written < lines; n++) {
    const batch: string[] = [];
    for (const line of lap) {
      if (written + batch.length >= lines) break;
      const shifted = shiftLine(line, n, shiftMs);
      if (shifted.startsWith('{"type":"inference"')) inferenceLines++;
      batch.push(shifted);
    }
    const text = batch.join('\n') + '\n';
    written += batch.length;
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return {
    path,
    lines: written,
    bytes,
    inferenceLines,
    itemIds: boughtItems(lap),
  };
}
