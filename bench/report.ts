/**
 * The benchmark's results as one JSON document, the targets they are held
 * to, and the Markdown table printed and kept beside the JSON.
 */
import type { IngestFigures, ReaderFigure } from './ingest.js';
import type { MachineInfo } from './machine.js';
import type { MemoryFigure } from './memory.js';
import type { ScrapeFigure } from './scrape.js';
import type { Spread } from './stats.js';

export interface FreshnessFigure {
  samplesPerRun: number;
  p50Millis: Spread;
  p99Millis: Spread;
}

export interface OverheadFigure {
  /** From the ingest runs: CPU seconds of the CLI per million lines. */
  backlogCpuSecondsPerMillionLines: Spread;
  steadyLinesPerSecond: number;
  steadySeconds: number;
  /** CPU seconds per second, so 0.05 is 5% of one core. */
  steadyCpuSecondsPerSecond: Spread;
}

export interface TargetCheck {
  target: string;
  value: string;
  met: boolean;
}

export interface BenchResults {
  mode: 'full' | 'quick';
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  /** How the input log was made. */
  workload: string;
  ingest: IngestFigures;
  scrape: ScrapeFigure[];
  memory: MemoryFigure[];
  freshness: FreshnessFigure;
  overhead: OverheadFigure;
  /** Held only in full mode; quick sizes say nothing about the targets. */
  targets: TargetCheck[];
}

/** Decimal megabytes, as the targets are stated. */
const MB = 1e6;

const fixed = (v: number, digits: number): string => v.toFixed(digits);
const thousands = (v: number): string => Math.round(v).toLocaleString('en-US');

/** `median (min–max)` of a spread, each value formatted alike. */
function range(s: Spread, format: (v: number) => string): string {
  if (s.min === s.max) return format(s.median);
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const rule = line(header.map(() => '---'));
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** Median of a over median of b. */
function ratio(a: Spread, b: Spread): number {
  return a.median / b.median;
}

/** Targets checked against the medians, for full-size runs only. */
export function checkTargets(r: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const { ingest } = r;
  const readers: Array<[string, ReaderFigure]> = [
    ['exporter CLI', ingest.exporterCli],
    ['exporter in-process', ingest.exporterInProcess],
  ];
  for (const [name, reader] of readers) {
    if (ingest.mtail) {
      const x = ratio(reader.linesPerSecond, ingest.mtail.linesPerSecond);
      checks.push({
        target: `${name} lines/s >= 1.5x mtail`,
        value: `${fixed(x, 2)}x`,
        met: x >= 1.5,
      });
    }
    const y = ratio(reader.linesPerSecond, ingest.bareLoop.linesPerSecond);
    checks.push({
      target: `${name} lines/s >= 50% of bare loop`,
      value: `${fixed(y * 100, 0)}%`,
      met: y >= 0.5,
    });
  }
  const at10k = r.scrape.find((s) => s.series === 10_000);
  if (at10k) {
    const x = ratio(at10k.exporter.p50Millis, at10k.floor.p50Millis);
    checks.push({
      target: 'scrape p50 at 10k series <= 1.2x prom-client floor',
      value: `${fixed(x, 2)}x`,
      met: x <= 1.2,
    });
    const p99 = at10k.exporter.p99Millis.median;
    checks.push({
      target: 'scrape p99 at 10k series < 50 ms',
      value: `${fixed(p99, 1)} ms`,
      met: p99 < 50,
    });
  }
  const atMillion = r.memory.find((m) => m.pending === 1_000_000);
  if (atMillion) {
    const rss = atMillion.rssBytes.median / MB;
    checks.push({
      target: 'RSS with 1M pending lists < 150 MB',
      value: `${fixed(rss, 0)} MB`,
      met: rss < 150,
    });
  }
  const p99 = r.freshness.p99Millis.median;
  checks.push({
    target: 'freshness p99 < 250 ms',
    value: `${fixed(p99, 0)} ms`,
    met: p99 < 250,
  });
  return checks;
}

function ingestSection(ingest: IngestFigures): string {
  const mtail = ingest.mtail;
  const rows: Array<[string, ReaderFigure | undefined]> = [
    ['exporter CLI (tailing, scraped)', ingest.exporterCli],
    ['exporter pipeline in-process', ingest.exporterInProcess],
    ['mtail --one_shot', mtail],
    ['bare loop: read + JSON.parse', ingest.bareLoop],
  ];
  const body = rows.map(([name, f]) => {
    if (!f) return [name, `missing: ${ingest.mtailMissing ?? ''}`, '', '', ''];
    return [
      name,
      range(f.linesPerSecond, thousands),
      range(f.cpuSecondsPerMillionLines, (v) => fixed(v, 2)),
      mtail
        ? `${fixed(ratio(f.linesPerSecond, mtail.linesPerSecond), 2)}x`
        : 'n/a',
      `${fixed(ratio(f.linesPerSecond, ingest.bareLoop.linesPerSecond) * 100, 0)}%`,
    ];
  });
  const agreement = ingest.mtail
    ? ingest.mtailCountDifferences.length === 0
      ? `mtail's counts equal the exporter's on all ${ingest.mtailSamplesCompared} request-counter and latency-histogram samples.`
      : `mtail's counts differ from the exporter's on ${ingest.mtailCountDifferences.length} samples, e.g. ${ingest.mtailCountDifferences[0]}.`
    : '';
  return [
    `## Ingest: ${thousands(ingest.lines)} lines (${fixed(ingest.bytes / MB, 0)} MB, ${thousands(ingest.inferenceLines)} inference lines)`,
    '',
    table(
      ['reader', 'lines/s', 'CPU s per 1M lines', 'vs mtail', 'vs bare loop'],
      body,
    ),
    '',
    agreement,
  ].join('\n');
}

function scrapeSection(scrape: ScrapeFigure[]): string {
  const ms = (v: number): string => fixed(v, 1);
  const rows = scrape.map((s) => [
    `${thousands(s.exporter.series)} / ${thousands(s.floor.series)}`,
    range(s.exporter.p50Millis, ms),
    range(s.exporter.p99Millis, ms),
    range(s.floor.p50Millis, ms),
    range(s.floor.p99Millis, ms),
    `${fixed(ratio(s.exporter.p50Millis, s.floor.p50Millis), 2)}x / ${fixed(ratio(s.exporter.p99Millis, s.floor.p99Millis), 2)}x`,
    `${fixed(s.exporter.bytes / 1024, 0)} / ${fixed(s.floor.bytes / 1024, 0)}`,
  ]);
  return [
    '## Scrape: /metrics latency in ms, exporter vs prom-client floor with the same series',
    '',
    table(
      [
        'series (exp / floor)',
        'exporter p50',
        'exporter p99',
        'floor p50',
        'floor p99',
        'ratio p50 / p99',
        'KiB (exp / floor)',
      ],
      rows,
    ),
  ].join('\n');
}

function memorySection(memory: MemoryFigure[]): string {
  const mb = (v: number): string => fixed(v / MB, 1);
  const rows = memory.map((m) => [
    thousands(m.pending),
    range(m.rssBytes, mb),
    range(m.heapUsedBytes, mb),
    range(m.arrayBufferBytes, mb),
  ]);
  return [
    '## Memory: attribution join after a full GC, MB',
    '',
    table(['pending lists', 'RSS', 'heap used', 'typed arrays'], rows),
  ].join('\n');
}

function liveSection(r: Omit<BenchResults, 'targets'>): string {
  const { freshness, overhead } = r;
  const ms = (v: number): string => fixed(v, 0);
  return [
    '## Freshness and host overhead (exporter CLI tailing a live file)',
    '',
    table(
      ['figure', 'value'],
      [
        [
          `append-to-scrape p50, ms (${freshness.samplesPerRun} appends a run)`,
          range(freshness.p50Millis, ms),
        ],
        [`append-to-scrape p99, ms`, range(freshness.p99Millis, ms)],
        [
          'CPU s per 1M lines, reading a backlog',
          range(overhead.backlogCpuSecondsPerMillionLines, (v) => fixed(v, 2)),
        ],
        [
          `CPU at a steady ${thousands(overhead.steadyLinesPerSecond)} lines/s for ${overhead.steadySeconds} s, % of one core`,
          range(overhead.steadyCpuSecondsPerSecond, (v) => fixed(v * 100, 1)),
        ],
      ],
    ),
  ].join('\n');
}

/** The whole report as Markdown. */
export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const targets = r.targets.length
    ? table(
        ['target', 'median', 'met'],
        r.targets.map((t) => [t.target, t.value, t.met ? 'yes' : '**no**']),
      )
    : 'Targets are held only in a full run (`npm run bench`).';
  return [
    `# inference-exporter benchmark (${r.mode})`,
    '',
    `${r.startedAt}, ${fixed(r.durationSeconds, 0)} s. ${m.cores} cores, ${m.cpuModel}, ${fixed(m.memoryBytes / 1024 ** 3, 1)} GiB, Node ${m.node}, ${m.platform}; ${m.mtail}.`,
    'Figures are medians of the repetitions with (min–max).',
    '',
    `Input: ${r.workload}`,
    '',
    ingestSection(r.ingest),
    '',
    scrapeSection(r.scrape),
    '',
    memorySection(r.memory),
    '',
    liveSection(r),
    '',
    '## Targets',
    '',
    targets,
    '',
  ].join('\n');
}
