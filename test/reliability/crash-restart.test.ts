/**
 * Crash and restart: while about 200 000 replayed lines are appended to a
 * log, the built CLI tails it with a positions file and is killed with
 * SIGKILL at random points, then started again, several times. Counters
 * are saved with the offsets, so the final counts must equal the file's
 * lines exactly.
 */
import { existsSync } from 'node:fs';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, scrape, startCli, sum, waitFor } from '../e2e/helpers.js';
import type { RunningCli } from '../e2e/helpers.js';
import { replayLines } from './demo-lines.js';

const COPIES = 8;
const MAX_KILLS = 8;
/** Lines appended at a time, and the pause between appends. */
const APPEND_LINES = 2000;
const APPEND_PAUSE_MILLIS = 30;
const DAY_MS = 86_400_000;

let dir: string;
let logFile: string;
let positions: string;
let config: string;
let lines: string[];
let expected: { lines: number; inference: number; feedback: number };

/**
 * One looped replay, written out COPIES times one after the other, each
 * copy later in time than the last and with its own request ids, so the
 * file reads like days of the same shop.
 */
function laterCopies(lines: string[]): string[] {
  const times = lines.map((l) => Date.parse(/"time":"([^"]+)"/.exec(l)![1]!));
  const span = Math.max(...times) - Math.min(...times) + DAY_MS;
  const out: string[] = [];
  for (let copy = 0; copy < COPIES; copy++) {
    for (const line of lines) {
      out.push(
        line
          .replace(/"time":"([^"]+)"/, (_m, t: string) => {
            const shifted = new Date(Date.parse(t) + copy * span);
            return `"time":"${shifted.toISOString()}"`;
          })
          .replace('"request_id":"req-', `"request_id":"c${copy}-req-`),
      );
    }
  }
  return out;
}

beforeAll(async () => {
  if (!existsSync(CLI))
    throw new Error(`build first (npx tsc -p .): ${CLI} is missing`);
  dir = await mkdtemp(join(tmpdir(), 'ie-crash-'));
  logFile = join(dir, 'model-server.jsonl');
  positions = join(dir, 'state', 'positions.json');
  config = join(dir, 'config.yml');
  await mkdir(join(dir, 'state'));
  await writeFile(config, 'positions:\n  sync_interval_seconds: 0.2\n');
  lines = laterCopies(await replayLines(1000, true));
  await writeFile(logFile, '');
  expected = {
    lines: lines.length,
    inference: lines.filter((l) => l.startsWith('{"type":"inference"')).length,
    feedback: lines.filter((l) => l.startsWith('{"type":"feedback"')).length,
  };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(): Promise<RunningCli> {
  return startCli([
    `--source.path=${logFile}`,
    '--tail.from-beginning',
    `--positions.file=${positions}`,
    `--config.file=${config}`,
    '--no-collector.host',
  ]);
}

/** Appends the lines in slices, as a busy model server would. */
async function writeLog(): Promise<void> {
  for (let at = 0; at < lines.length; at += APPEND_LINES) {
    const slice = lines.slice(at, at + APPEND_LINES);
    await appendFile(logFile, slice.join('\n') + '\n');
    await new Promise((r) => setTimeout(r, APPEND_PAUSE_MILLIS));
  }
}

async function linesCounted(cli: RunningCli): Promise<number> {
  return sum((await scrape(cli.port)).text, 'inference_log_lines_total');
}

describe('crash and restart during ingestion', () => {
  it('counts every line exactly once across SIGKILLs at random points', async () => {
    expect(expected.lines).toBeGreaterThanOrEqual(180_000);
    let writing = true;
    const written = writeLog().finally(() => (writing = false));
    const killedAt: number[] = [];
    while (writing && killedAt.length < MAX_KILLS) {
      const cli = await start();
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 300));
      killedAt.push(await linesCounted(cli));
      await cli.stop('SIGKILL');
    }
    await written;
    // The runs above must have crashed mid-file, or nothing was tested.
    expect(
      killedAt.filter((n) => n < expected.lines).length,
    ).toBeGreaterThanOrEqual(3);

    const cli = await start();
    try {
      await waitFor(
        async () => (await linesCounted(cli)) >= expected.lines,
        30_000,
        `${expected.lines} lines counted`,
      );
      // Past two more saves, nothing is counted twice either.
      await new Promise((r) => setTimeout(r, 500));
      const text = (await scrape(cli.port)).text;
      expect(sum(text, 'inference_log_lines_total')).toBe(expected.lines);
      expect(sum(text, 'inference_log_lines_total', { result: 'parsed' })).toBe(
        expected.lines,
      );
      expect(sum(text, 'inference_requests_total')).toBe(expected.inference);
      expect(sum(text, 'inference_feedback_events_total')).toBe(
        expected.feedback,
      );
      expect(sum(text, 'inference_log_errors_total')).toBe(0);
    } finally {
      await cli.stop();
    }

    // A clean stop and start restores the same counts and reads nothing again.
    const again = await start();
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(await linesCounted(again)).toBe(expected.lines);
    } finally {
      await again.stop();
    }
    const temps = (await readdir(join(dir, 'state'))).filter((n) =>
      n.endsWith('.tmp'),
    );
    expect(temps).toEqual([]);
    const figures = {
      lines: expected.lines,
      restarts: killedAt.length,
      killedAtLines: killedAt,
      lost: 0,
      duplicated: 0,
    };
    console.info(`crash and restart: ${JSON.stringify(figures)}`);
  });
});
