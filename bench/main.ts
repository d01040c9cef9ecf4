/**
 * The benchmark: ingest throughput against mtail and a bare parse loop,
 * scrape cost against a prom-client floor, memory of the attribution join,
 * freshness and CPU overhead. Prints a Markdown table and writes it with
 * the full figures as JSON.
 *
 *   node dist/bench/main.js [--quick] [--out=DIR]
 *
 * `--quick` uses small sizes and holds no targets; `--out` puts
 * latest.json and latest.md somewhere other than bench/results.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freshnessRun, steadyRun } from './freshness.js';
import { benchIngest } from './ingest.js';
import { describeMachine } from './machine.js';
import { benchMemory } from './memory.js';
import {
  checkTargets,
  renderMarkdown,
  type BenchResults,
  type FreshnessFigure,
  type OverheadFigure,
} from './report.js';
import { benchScrape, type ScrapeSize } from './scrape.js';
import { repeat, spreadOf } from './stats.js';
import { makeWorkload, type Workload } from './workload.js';

/** Every size and repetition count of one mode. */
interface Sizes {
  ingestLines: number;
  /** Invoices replayed for the lap the log repeats; all when undefined. */
  lapInvoices: number | undefined;
  ingestRepetitions: number;
  scrape: ScrapeSize[];
  scrapeBatches: number;
  memoryPending: number[];
  memoryRepetitions: number;
  freshnessSamples: number;
  freshnessRepetitions: number;
  steadyLinesPerSecond: number;
  steadySeconds: number;
  steadyRepetitions: number;
}

const FULL: Sizes = {
  ingestLines: 1_000_000,
  lapInvoices: undefined,
  ingestRepetitions: 3,
  scrape: [
    { series: 1_000, samples: 100 },
    { series: 10_000, samples: 100 },
    { series: 100_000, samples: 20 },
  ],
  scrapeBatches: 5,
  memoryPending: [0, 100_000, 1_000_000],
  memoryRepetitions: 3,
  freshnessSamples: 200,
  freshnessRepetitions: 3,
  steadyLinesPerSecond: 1_000,
  steadySeconds: 10,
  steadyRepetitions: 3,
};

const QUICK: Sizes = {
  ingestLines: 20_000,
  lapInvoices: 800,
  ingestRepetitions: 3,
  scrape: [{ series: 1_000, samples: 20 }],
  scrapeBatches: 3,
  memoryPending: [0, 10_000],
  memoryRepetitions: 2,
  freshnessSamples: 20,
  freshnessRepetitions: 1,
  steadyLinesPerSecond: 1_000,
  steadySeconds: 3,
  steadyRepetitions: 1,
};

/** The tail poll interval the CLI runs with, by default. */
const POLL_INTERVAL_MILLIS = 100;

const RESULTS_DIR = fileURLToPath(
  new URL('../../bench/results/', import.meta.url),
);

function describeWorkload(w: Workload, sizes: Sizes): string {
  const lap =
    sizes.lapInvoices === undefined
      ? 'every invoice'
      : `its first ${sizes.lapInvoices} invoices`;
  return (
    `the Online Retail sample replayed once through the demo model server ` +
    `(runReplay, clock 'source', speedup 0, ${lap}), then that lap repeated ` +
    `with request ids and anonymous session keys given a lap suffix and times ` +
    `moved on by whole days, to exactly ${w.lines.toLocaleString('en-US')} lines.`
  );
}

async function liveFigures(
  dir: string,
  workload: Workload,
  sizes: Sizes,
  backlogCpu: OverheadFigure['backlogCpuSecondsPerMillionLines'],
): Promise<{ freshness: FreshnessFigure; overhead: OverheadFigure }> {
  const text = await readFile(workload.path, 'utf8');
  const lines = text
    .slice(0, 4 * 1024 * 1024)
    .split('\n')
    .slice(0, -1);

  const fresh = await repeat(sizes.freshnessRepetitions, () =>
    freshnessRun(dir, lines, sizes.freshnessSamples, POLL_INTERVAL_MILLIS),
  );
  const steady = await repeat(sizes.steadyRepetitions, () =>
    steadyRun(dir, lines, sizes.steadyLinesPerSecond, sizes.steadySeconds),
  );
  return {
    freshness: {
      samplesPerRun: sizes.freshnessSamples,
      p50Millis: spreadOf(fresh, (r) => r.p50Millis),
      p99Millis: spreadOf(fresh, (r) => r.p99Millis),
    },
    overhead: {
      backlogCpuSecondsPerMillionLines: backlogCpu,
      steadyLinesPerSecond: sizes.steadyLinesPerSecond,
      steadySeconds: sizes.steadySeconds,
      steadyCpuSecondsPerSecond: spreadOf(steady, (r) => r.cpuSecondsPerSecond),
    },
  };
}

async function run(mode: 'full' | 'quick', dir: string): Promise<BenchResults> {
  const sizes = mode === 'full' ? FULL : QUICK;
  const startedAt = new Date();
  const step = (what: string): void => {
    const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
    process.stderr.write(`bench: ${what} (${seconds} s)\n`);
  };

  step('generating the log');
  const workload = await makeWorkload(
    dir,
    sizes.ingestLines,
    sizes.lapInvoices,
  );
  step('ingest');
  const ingest = await benchIngest(workload, sizes.ingestRepetitions);
  step('scrape');
  const scrape = await benchScrape(sizes.scrape, sizes.scrapeBatches);
  step('memory');
  const memory = await benchMemory(
    sizes.memoryPending,
    workload.itemIds,
    dir,
    sizes.memoryRepetitions,
  );
  step('freshness and overhead');
  const live = await liveFigures(
    dir,
    workload,
    sizes,
    ingest.exporterCli.cpuSecondsPerMillionLines,
  );

  const results: Omit<BenchResults, 'targets'> = {
    mode,
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    machine: describeMachine(),
    workload: describeWorkload(workload, sizes),
    ingest,
    scrape,
    memory,
    ...live,
  };
  return { ...results, targets: mode === 'full' ? checkTargets(results) : [] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const outDir = values.out ?? RESULTS_DIR;
  const dir = await mkdtemp(join(tmpdir(), 'inference-exporter-bench-'));
  try {
    const results = await run(values.quick ? 'quick' : 'full', dir);
    const markdown = renderMarkdown(results);
    await mkdir(outDir, { recursive: true });
    await writeFile(
      join(outDir, 'latest.json'),
      JSON.stringify(results, null, 2) + '\n',
    );
    await writeFile(join(outDir, 'latest.md'), markdown);
    process.stdout.write(markdown);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exitCode = 1;
});
