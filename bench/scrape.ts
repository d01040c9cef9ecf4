/**
 * Scrape cost: /metrics latency and size of the exporter against a bare
 * prom-client server holding the same series, at several series counts.
 * Both servers run in their own processes and are scraped in turns, one
 * request at a time, so that a busy moment of the machine hits both alike.
 */
import { fileURLToPath } from 'node:url';
import { get, startNode, type RunningProcess } from './proc.js';
import { percentile, spread, type Spread } from './stats.js';

const SERVER = fileURLToPath(new URL('./scrape-server.js', import.meta.url));

/** Series a label set adds to the exporter's output (counted once). */
export interface ScrapeSize {
  /** Series asked for, roughly. */
  series: number;
  /** Scrapes per batch; the p50 and p99 are taken per batch. */
  samples: number;
}

export interface ScrapeSide {
  /** Sample lines in one response. */
  series: number;
  /**
   * Of those, the exporter's own (`inference_...`); the rest are Node.js
   * runtime series, whose number varies a little with GC activity.
   */
  ownSeries: number;
  bytes: number;
  p50Millis: Spread;
  p99Millis: Spread;
}

export interface ScrapeFigure {
  series: number;
  labelSets: number;
  exporter: ScrapeSide;
  floor: ScrapeSide;
}

/** Label sets that give about `series` series (36 each, about 37 more). */
export function labelSetsFor(series: number): number {
  return Math.max(1, Math.round((series - 37) / 36));
}

function startServer(
  kind: 'exporter' | 'floor',
  labelSets: number,
): Promise<RunningProcess> {
  return startNode({
    script: SERVER,
    args: [kind, String(labelSets)],
    portPattern: /port=(\d+)/,
    timeoutMs: 60_000,
  });
}

function countSeries(body: string, prefix = ''): number {
  let series = 0;
  for (const line of body.split('\n')) {
    if (line !== '' && !line.startsWith('#') && line.startsWith(prefix))
      series++;
  }
  return series;
}

/** Latencies of `samples` scrapes in a row, in milliseconds. */
async function batch(port: number, samples: number): Promise<number[]> {
  const millis: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await get(port, '/metrics', false);
    millis.push(performance.now() - started);
  }
  return millis;
}

async function measureSize(
  size: ScrapeSize,
  batches: number,
): Promise<ScrapeFigure> {
  const labelSets = labelSetsFor(size.series);
  const exporter = await startServer('exporter', labelSets);
  const floor = await startServer('floor', labelSets);
  try {
    const sides = [exporter, floor];
    const first = await Promise.all(
      sides.map((s) => get(s.port, '/metrics', true)),
    );
    // A few scrapes first, so both run compiled code when measured.
    for (const side of sides) await batch(side.port, 3);
    const p50 = [[], []] as number[][];
    const p99 = [[], []] as number[][];
    for (let b = 0; b < batches; b++) {
      for (const [i, side] of sides.entries()) {
        const millis = await batch(side.port, size.samples);
        p50[i]!.push(percentile(millis, 0.5));
        p99[i]!.push(percentile(millis, 0.99));
      }
    }
    const side = (i: number): ScrapeSide => ({
      series: countSeries(first[i]!.body),
      ownSeries: countSeries(first[i]!.body, 'inference_'),
      bytes: first[i]!.bytes,
      p50Millis: spread(p50[i]!),
      p99Millis: spread(p99[i]!),
    });
    return {
      series: size.series,
      labelSets,
      exporter: side(0),
      floor: side(1),
    };
  } finally {
    await Promise.all([exporter.stop(), floor.stop()]);
  }
}

export async function benchScrape(
  sizes: ScrapeSize[],
  batches: number,
): Promise<ScrapeFigure[]> {
  const figures: ScrapeFigure[] = [];
  for (const size of sizes) figures.push(await measureSize(size, batches));
  return figures;
}
