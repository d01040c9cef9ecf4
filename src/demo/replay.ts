/**
 * Replays real shop invoices as traffic to a recommendation service. Each
 * invoice is a customer arriving: the demo model server serves one list,
 * then the invoice's products are written as purchases, and only then do
 * the models learn from it.
 */
import type { Writable } from 'node:stream';
import {
  setImmediate as yieldToEvents,
  setTimeout as wait,
} from 'node:timers/promises';

import { openFileSink, streamSink, type LineSink } from './line-sink.js';
import { ProgressReporter, type ProgressOutput } from './progress.js';
import { DemoModelServer, inferenceLine, purchaseLines } from './serving.js';
import { loadShopData, type ShopSale } from './shop-data.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** `source`: the data's own times; `now`: the wall clock at writing. */
export type ReplayClock = 'source' | 'now';

/** How a replay runs. Only `dataPath` and `output` are required. */
export interface ReplayOptions {
  /** Shop data CSV in the Online Retail layout. */
  dataPath: string;
  /** A file to append JSON lines to (directories are created) or a stream. */
  output: string | Writable;
  /**
   * Times written on lines; `now` by default, for a live exporter. With
   * `source` and `loop`, each lap moves the data's days on (see
   * `lapShiftMillis`) so that time never runs backwards.
   */
  clock?: ReplayClock;
  /** Data seconds per real second; 0 runs as fast as possible. Default 3600. */
  speedup?: number;
  /** Longest single wait between invoices, so nights do not stall. 5000. */
  maxSleepMillis?: number;
  /** Start over at the end, keeping what the models learned. */
  loop?: boolean;
  /** Items per list. Default 10. */
  k?: number;
  /** Most invoices to serve, over all laps. */
  limit?: number;
  /** Draw progress; true by default. */
  progress?: boolean;
  /** Where progress is drawn; stderr by default. */
  progressOutput?: ProgressOutput;
  /** Stops the replay between invoices; the summary so far is returned. */
  signal?: AbortSignal;
  /** Waits between invoices; callers keeping their own time replace it. */
  sleep?: (millis: number, signal?: AbortSignal) => Promise<void>;
}

/** What a replay wrote. */
export interface ReplaySummary {
  /** Invoices served, one inference line each. */
  invoices: number;
  inferenceLines: number;
  feedbackLines: number;
  /** Inference lines with status `empty`. */
  emptyLists: number;
  /** Laps that served at least one invoice; above 1 only with `loop`. */
  laps: number;
  /** Invoices in the file never served: cancellations, fees only. */
  skippedInvoices: number;
  /** Rows of the file that could not be read. */
  badRows: number;
  /** True when the signal stopped the replay. */
  aborted: boolean;
}

/** Options with every default filled in. */
export type ReplaySettings = Required<Omit<ReplayOptions, 'limit' | 'signal'>> &
  Pick<ReplayOptions, 'limit' | 'signal'>;

interface ReplayRun {
  sales: readonly ShopSale[];
  settings: ReplaySettings;
  server: DemoModelServer;
  sink: LineSink;
  progress: ProgressReporter | undefined;
  summary: ReplaySummary;
  /** Data time of the last invoice served, for pacing. */
  previousMs: number | undefined;
}

async function sleepUnlessAborted(
  millis: number,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await wait(millis, undefined, { signal });
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}

function checkWhole(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(
      `replay option ${name} must be a whole number >= 1, got ${value}`,
    );
  }
}

function checkNonNegative(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(
      `replay option ${name} must be a number >= 0, got ${value}`,
    );
  }
}

/** An option given as undefined keeps its default. */
function givenOnly(options: ReplayOptions): Partial<ReplayOptions> {
  const entries = Object.entries(options).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries) as Partial<ReplayOptions>;
}

/** Options with defaults filled in; throws naming a bad option. */
export function resolveReplayOptions(options: ReplayOptions): ReplaySettings {
  const settings: ReplaySettings = {
    clock: 'now',
    speedup: 3600,
    maxSleepMillis: 5000,
    loop: false,
    k: 10,
    progress: true,
    progressOutput: process.stderr,
    sleep: sleepUnlessAborted,
    ...givenOnly(options),
    dataPath: options.dataPath,
    output: options.output,
  };
  if (!settings.dataPath) throw new Error('replay option dataPath is empty');
  if (settings.clock !== 'source' && settings.clock !== 'now') {
    const clock = String(settings.clock);
    throw new Error(
      `replay option clock must be 'source' or 'now', got '${clock}'`,
    );
  }
  checkNonNegative('speedup', settings.speedup);
  checkNonNegative('maxSleepMillis', settings.maxSleepMillis);
  checkWhole('k', settings.k);
  checkWhole('limit', settings.limit);
  return settings;
}

/**
 * How far data time moves on each lap: whole days from the first sale's day
 * to the day after the last, so a loop goes on like the following days.
 */
export function lapShiftMillis(sales: readonly ShopSale[]): number {
  const first = sales[0];
  const last = sales[sales.length - 1];
  if (!first || !last) return DAY_MS;
  const firstDay = Math.floor(first.timeMs / DAY_MS);
  const lastDay = Math.floor(last.timeMs / DAY_MS);
  return (lastDay - firstDay + 1) * DAY_MS;
}

/** Serves one invoice, teaches the models, and writes its lines. */
async function replaySale(
  run: ReplayRun,
  sale: ShopSale,
  visit: { timeMs: number; id: string },
): Promise<{ purchases: number; empty: boolean }> {
  const { server, settings, sink } = run;
  const stamp = (): string =>
    new Date(
      settings.clock === 'source' ? visit.timeMs : Date.now(),
    ).toISOString();

  const list = server.serve(sale, visit.timeMs, visit.id);
  server.learn({ ...sale, timeMs: visit.timeMs });

  const inference = inferenceLine(list, stamp());
  const purchases = purchaseLines(sale, list.userKey, stamp());
  await sink.write([inference, ...purchases].join('\n') + '\n');
  return { purchases: purchases.length, empty: list.items.length === 0 };
}

/** Waits the data-time gap since the last invoice, scaled and capped. */
async function pace(
  gapMs: number,
  settings: ReplaySettings,
  served: number,
): Promise<void> {
  if (settings.speedup === 0) {
    // Let timers and signals run now and then when not sleeping at all.
    if (served % 64 === 0) await yieldToEvents();
    return;
  }
  const millis = Math.min(gapMs / settings.speedup, settings.maxSleepMillis);
  if (millis > 0) await settings.sleep(millis, settings.signal);
}

function shouldStop(run: ReplayRun): boolean {
  const { limit, signal } = run.settings;
  if (signal?.aborted) return true;
  return limit !== undefined && run.summary.invoices >= limit;
}

/** Progress within the limit when it ends the run, else within the lap. */
function reportProgress(run: ReplayRun, index: number, lap: number): void {
  const { limit, loop } = run.settings;
  if (limit !== undefined && (loop || limit < run.sales.length)) {
    run.progress?.update(run.summary.invoices, limit, lap);
  } else {
    run.progress?.update(index + 1, run.sales.length, lap);
  }
}

/**
 * Waits for the invoice's turn and serves it, then counts what was
 * written. False when the signal came first.
 */
async function replayTurn(
  run: ReplayRun,
  sale: ShopSale,
  lap: number,
  timeMs: number,
): Promise<boolean> {
  const { settings, summary } = run;
  const gapMs = timeMs - (run.previousMs ?? timeMs);
  await pace(gapMs, settings, summary.invoices);
  if (settings.signal?.aborted) return false;
  run.previousMs = timeMs;

  // Keys stay unique when the same invoice comes round again.
  const id = lap === 1 ? sale.invoiceNo : `${sale.invoiceNo}.${lap}`;
  const visit = { timeMs, id };
  const written = await replaySale(run, sale, visit);

  summary.invoices += 1;
  summary.inferenceLines += 1;
  summary.feedbackLines += written.purchases;
  if (written.empty) summary.emptyLists += 1;
  return true;
}

async function replayLaps(run: ReplayRun): Promise<void> {
  const shiftMs = lapShiftMillis(run.sales);
  for (let lap = 1; run.sales.length > 0; lap += 1) {
    for (const [index, sale] of run.sales.entries()) {
      if (shouldStop(run)) return;
      const timeMs = sale.timeMs + (lap - 1) * shiftMs;
      if (!(await replayTurn(run, sale, lap, timeMs))) return;
      run.summary.laps = lap;
      reportProgress(run, index, lap);
    }
    if (!run.settings.loop) return;
  }
}

/**
 * Replays a shop data file until its end (or forever with `loop`), the
 * limit, or the signal. Throws on bad options or an unreadable file or
 * output; an abort is not an error.
 */
export async function runReplay(
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const settings = resolveReplayOptions(options);
  const shop = await loadShopData(settings.dataPath);
  const sink =
    typeof settings.output === 'string'
      ? await openFileSink(settings.output)
      : streamSink(settings.output);

  const run: ReplayRun = {
    sales: shop.sales,
    settings,
    server: new DemoModelServer(settings.k),
    sink,
    progress: settings.progress
      ? new ProgressReporter(settings.progressOutput)
      : undefined,
    summary: {
      invoices: 0,
      inferenceLines: 0,
      feedbackLines: 0,
      emptyLists: 0,
      laps: 0,
      skippedInvoices: shop.skippedInvoices,
      badRows: shop.badRows,
      aborted: false,
    },
    previousMs: undefined,
  };
  try {
    await replayLaps(run);
  } finally {
    run.progress?.finish();
    await sink.close();
  }
  run.summary.aborted = settings.signal?.aborted ?? false;
  return run.summary;
}
