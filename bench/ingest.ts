/**
 * Ingest throughput: the same log read by the exporter CLI, by the
 * exporter's pipeline in-process, by mtail, and by a bare read-and-parse
 * loop; plus the exporter's CPU seconds per million lines.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { IngestRun } from './ingest-child.js';
import {
  comparableSamples,
  ensureMtail,
  runMtail,
  sampleDifferences,
} from './mtail.js';
import {
  get,
  linesCounted,
  sleep,
  startExporterCli,
  cpuSeconds,
} from './proc.js';
import { repeat, spreadOf, type Spread } from './stats.js';
import type { Workload } from './workload.js';

const CHILD = fileURLToPath(new URL('./ingest-child.js', import.meta.url));
/**
 * How often the CLI is scraped while it reads: seldom while far from done,
 * since every scrape takes the exporter's time, then often near the end,
 * so that the finish is seen within 20 ms.
 */
const FAR_POLL_MILLIS = 200;
const NEAR_POLL_MILLIS = 20;
/** Share of the lines from which the finish is near. */
const NEAR_SHARE = 0.9;
/** The longest a single ingest run may take. */
const RUN_TIMEOUT_MILLIS = 120_000;

/** One reader's throughput and CPU cost over the repetitions. */
export interface ReaderFigure {
  linesPerSecond: Spread;
  /** CPU seconds (all threads) per million lines. */
  cpuSecondsPerMillionLines: Spread;
}

export interface IngestFigures {
  lines: number;
  bytes: number;
  inferenceLines: number;
  exporterCli: ReaderFigure;
  exporterInProcess: ReaderFigure;
  /** Undefined when mtail is missing; see `mtailMissing`. */
  mtail: ReaderFigure | undefined;
  mtailMissing: string | undefined;
  bareLoop: ReaderFigure;
  /** Samples of the request counter and latency histogram compared. */
  mtailSamplesCompared: number;
  /** Where mtail's counts differ from the exporter's; empty when equal. */
  mtailCountDifferences: string[];
}

interface CliRun {
  seconds: number;
  cpuSeconds: number;
  exposition: string;
}

/**
 * The CLI tails the file from its start; the clock runs from the moment it
 * logs that it follows the file until a scrape counts every line.
 */
async function cliRun(workload: Workload): Promise<CliRun> {
  const cli = await startExporterCli(
    [`--source.path=${workload.path}`, '--tail.from-beginning'],
    { following: /msg="following log file"/ },
  );
  try {
    const deadline = performance.now() + RUN_TIMEOUT_MILLIS;
    for (;;) {
      const counted = await linesCounted(cli.port);
      if (counted >= workload.lines) break;
      if (performance.now() > deadline) throw new Error('CLI ingest timed out');
      const near = counted >= workload.lines * NEAR_SHARE;
      await sleep(near ? NEAR_POLL_MILLIS : FAR_POLL_MILLIS);
    }
    const doneAt = performance.now();
    const cpuDone = cpuSeconds(cli.pid);
    const start = cli.marks.get('following');
    if (!start) throw new Error('CLI never logged that it follows the file');
    const { body } = await get(cli.port, '/metrics', true);
    return {
      seconds: (doneAt - start.at) / 1000,
      cpuSeconds: cpuDone - start.cpuSeconds,
      exposition: body,
    };
  } finally {
    await cli.stop();
  }
}

/** Runs the ingest child in `mode` over the file and reads its report. */
export function childRun(
  mode: 'pipeline' | 'bare',
  path: string,
): Promise<IngestRun> {
  const child = spawn(process.execPath, [CHILD, mode, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MILLIS);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`ingest child ${mode} exited with ${code}`));
      resolve(JSON.parse(out) as IngestRun);
    });
  });
}

function figure(
  runs: ReadonlyArray<{ seconds: number; cpuSeconds: number }>,
  lines: number,
): ReaderFigure {
  return {
    linesPerSecond: spreadOf(runs, (r) => lines / r.seconds),
    cpuSecondsPerMillionLines: spreadOf(
      runs,
      (r) => (r.cpuSeconds * 1e6) / lines,
    ),
  };
}

function checked(runs: IngestRun[], expected: number): IngestRun[] {
  for (const run of runs) {
    if (run.lines !== expected) {
      throw new Error(
        `ingest counted ${run.lines} lines, expected ${expected}`,
      );
    }
  }
  return runs;
}

export async function benchIngest(
  workload: Workload,
  repetitions: number,
): Promise<IngestFigures> {
  const { lines } = workload;
  const cli = await repeat(repetitions, () => cliRun(workload));
  const inProcess = await repeat(repetitions, () =>
    childRun('pipeline', workload.path),
  );
  const bare = await repeat(repetitions, () => childRun('bare', workload.path));

  const mtailReady = ensureMtail();
  let mtail: ReaderFigure | undefined;
  let differences: string[] = [];
  let compared = 0;
  if (mtailReady.ok) {
    const runs = await repeat(repetitions, () => runMtail(workload.path));
    mtail = figure(runs, lines);
    const ours = comparableSamples(cli[0]!.exposition);
    differences = sampleDifferences(ours, comparableSamples(runs[0]!.text));
    compared = ours.size;
  }

  return {
    lines,
    bytes: workload.bytes,
    inferenceLines: workload.inferenceLines,
    exporterCli: figure(cli, lines),
    exporterInProcess: figure(checked(inProcess, lines), lines),
    mtail,
    mtailMissing: mtailReady.ok ? undefined : mtailReady.why,
    bareLoop: figure(checked(bare, lines), lines),
    mtailSamplesCompared: compared,
    mtailCountDifferences: differences,
  };
}
