/**
 * Runs the quick benchmark once, from the build in dist/, and checks that
 * its JSON holds every figure. Speed is not asserted: only that each figure
 * was measured (a positive number), that the table was written, and that
 * mtail counted the same requests as the exporter.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/report.js';

const MAIN = fileURLToPath(
  new URL('../../dist/bench/main.js', import.meta.url),
);

function runQuickBench(
  outDir: string,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, '--quick', `--out=${outDir}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** Every spread in the results, by its path, for the positivity check. */
function spreads(value: unknown, path = ''): Array<[string, number[]]> {
  if (value === null || typeof value !== 'object') return [];
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.runs) && typeof record.median === 'number') {
    return [
      [
        path,
        [
          record.median,
          record.min as number,
          record.max as number,
          ...(record.runs as number[]),
        ],
      ],
    ];
  }
  return Object.entries(record).flatMap(([key, v]) =>
    spreads(v, `${path}.${key}`),
  );
}

describe('npm run bench:quick', () => {
  let dir: string;
  let results: BenchResults;
  let markdown: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-quick-'));
    const run = await runQuickBench(dir);
    expect(run.code, run.stderr).toBe(0);
    results = JSON.parse(
      await readFile(join(dir, 'latest.json'), 'utf8'),
    ) as BenchResults;
    markdown = await readFile(join(dir, 'latest.md'), 'utf8');
  }, 100_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('measures ingest for all four readers over the whole log', () => {
    const { ingest } = results;
    expect(ingest.lines).toBe(20_000);
    expect(ingest.bytes).toBeGreaterThan(ingest.lines);
    expect(ingest.inferenceLines).toBeGreaterThan(0);
    for (const reader of [
      ingest.exporterCli,
      ingest.exporterInProcess,
      ingest.mtail,
      ingest.bareLoop,
    ]) {
      expect(reader?.linesPerSecond.median).toBeGreaterThan(0);
      expect(reader?.cpuSecondsPerMillionLines.runs).toHaveLength(3);
    }
  });

  it('finds mtail counting exactly what the exporter counts', () => {
    // One counter per label set and outcome, 15 histogram samples per set.
    expect(results.ingest.mtailSamplesCompared).toBeGreaterThan(15);
    expect(results.ingest.mtailCountDifferences).toEqual([]);
  });

  it('serves the same series from the exporter and the floor', () => {
    const [at1k] = results.scrape;
    // 27 label sets of 36 series, plus the 11 that do not depend on them.
    expect(at1k!.labelSets).toBe(27);
    expect(at1k!.exporter.ownSeries).toBe(27 * 36 + 11);
    expect(at1k!.floor.ownSeries).toBe(at1k!.exporter.ownSeries);
    expect(at1k!.exporter.series).toBeGreaterThan(at1k!.exporter.ownSeries);
    expect(at1k!.exporter.bytes).toBeGreaterThan(0);
    expect(at1k!.floor.p99Millis.median).toBeGreaterThan(0);
  });

  it('reports memory, freshness and overhead for every size', () => {
    expect(results.memory.map((m) => m.pending)).toEqual([0, 10_000]);
    const [empty, full] = results.memory;
    expect(full!.arrayBufferBytes.median).toBeGreaterThan(
      empty!.arrayBufferBytes.median,
    );
    expect(results.freshness.p99Millis.median).toBeGreaterThanOrEqual(
      results.freshness.p50Millis.median,
    );
    expect(results.overhead.steadyCpuSecondsPerSecond.median).toBeGreaterThan(
      0,
    );
  });

  it('has a positive number for every figure, and records the machine', () => {
    const all = spreads(results);
    expect(all.length).toBeGreaterThan(20);
    for (const [path, numbers] of all) {
      for (const n of numbers) expect(n, path).toBeGreaterThan(0);
    }
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.mtail).toMatch(/^mtail version/);
    expect(results.targets).toEqual([]);
  });

  it('writes the printed table beside the JSON', () => {
    expect(markdown).toContain('## Ingest: 20,000 lines');
    expect(markdown).toContain('| mtail --one_shot |');
    expect(markdown).toContain('## Scrape');
    expect(markdown).toContain('## Memory');
    expect(markdown).toContain('append-to-scrape p99');
  });
});
