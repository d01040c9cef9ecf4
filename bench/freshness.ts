/**
 * Freshness and steady-state overhead of the exporter CLI tailing a live
 * file: how long after a line is appended a scrape shows it, and the CPU
 * the exporter uses while lines arrive at a steady rate.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cpuSeconds,
  linesCounted,
  sleep,
  startExporterCli,
  type RunningProcess,
} from './proc.js';
import { percentile } from './stats.js';

/** Longest wait for one line to show before the run is failed. */
const SHOW_TIMEOUT_MILLIS = 10_000;

async function withLiveCli<T>(
  dir: string,
  name: string,
  run: (cli: RunningProcess, path: string) => Promise<T>,
): Promise<T> {
  const path = join(dir, name);
  writeFileSync(path, '');
  const cli = await startExporterCli([`--source.path=${path}`]);
  try {
    return await run(cli, path);
  } finally {
    await cli.stop();
  }
}

async function waitForCount(
  port: number,
  count: number,
  tight: boolean,
): Promise<void> {
  const deadline = performance.now() + SHOW_TIMEOUT_MILLIS;
  while ((await linesCounted(port)) < count) {
    if (performance.now() > deadline)
      throw new Error(`line ${count} never showed`);
    if (!tight) await sleep(20);
  }
}

/** p50 and p99 in milliseconds over `samples` appends. */
export async function freshnessRun(
  dir: string,
  lines: readonly string[],
  samples: number,
  pollIntervalMillis: number,
): Promise<{ p50Millis: number; p99Millis: number }> {
  return withLiveCli(dir, 'fresh.jsonl', async (cli, path) => {
    await waitForCount(cli.port, 0, false);
    const millis: number[] = [];
    for (let i = 1; i <= samples; i++) {
      // A random pause, so appends fall anywhere in the poll cycle.
      await sleep(Math.random() * pollIntervalMillis);
      const appended = performance.now();
      appendFileSync(path, lines[i % lines.length] + '\n');
      await waitForCount(cli.port, i, true);
      millis.push(performance.now() - appended);
    }
    return {
      p50Millis: percentile(millis, 0.5),
      p99Millis: percentile(millis, 0.99),
    };
  });
}

/**
 * CPU seconds per second of the exporter while lines are appended at
 * `linesPerSecond` for `seconds`, in ten writes a second.
 */
export async function steadyRun(
  dir: string,
  lines: readonly string[],
  linesPerSecond: number,
  seconds: number,
): Promise<{ cpuSecondsPerSecond: number; lines: number }> {
  return withLiveCli(dir, 'steady.jsonl', async (cli, path) => {
    const perWrite = Math.round(linesPerSecond / 10);
    const writes = Math.round(seconds * 10);
    const cpuStart = cpuSeconds(cli.pid);
    const started = performance.now();
    let written = 0;
    for (let w = 0; w < writes; w++) {
      const batch: string[] = [];
      for (let i = 0; i < perWrite; i++)
        batch.push(lines[(written + i) % lines.length]!);
      appendFileSync(path, batch.join('\n') + '\n');
      written += perWrite;
      const due = started + (w + 1) * 100;
      await sleep(Math.max(0, due - performance.now()));
    }
    await waitForCount(cli.port, written, false);
    const elapsed = (performance.now() - started) / 1000;
    const cpu = cpuSeconds(cli.pid) - cpuStart;
    return { cpuSecondsPerSecond: cpu / elapsed, lines: written };
  });
}
