/**
 * Shared by the status tests: demo replay lines (real invoices from the
 * bundled Online Retail slice, served by the demo model server), a store
 * fed through the real parser and recorder, and the figures those lines
 * should give, computed here from the raw JSON without the exporter's code.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';

import { defaultSource } from '../../src/config/schema.js';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';
import { JsonLineParser } from '../../src/formats/jsonl.js';
import { LATENCY_BUCKETS_SECONDS } from '../../src/metrics/definitions.js';
import { Recorder } from '../../src/metrics/recorder.js';
import { MetricStore } from '../../src/metrics/store.js';
import { StatusHistory } from '../../src/server/status-history.js';
import {
  statusRouter,
  type StatusRouterOptions,
} from '../../src/server/status.js';

/** JSON lines written by the demo replay for its first `limit` invoices. */
export async function replayLines(limit: number): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'status-replay-'));
  try {
    const output = join(dir, 'inference.jsonl');
    await runReplay({
      dataPath: defaultDataPath(),
      output,
      clock: 'source',
      speedup: 0,
      progress: false,
      limit,
    });
    const text = await readFile(output, 'utf8');
    return text.split('\n').filter((line) => line !== '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A line the demo never writes: a failed request, with its latency. */
export function failedLine(
  n: number,
  status: 'error' | 'timeout',
  latencyMs: number,
  time = '2010-12-01T23:00:00.000Z',
): string {
  return JSON.stringify({
    type: 'inference',
    time,
    request_id: `failed-${n}`,
    model: 'popularity',
    model_version: 'v1',
    scene: 'recommend',
    latency_ms: latencyMs,
    status,
    items: [],
  });
}

/** A store fed by the real parser and recorder, and a history on a fake clock. */
export function liveStore() {
  const clock = { ms: Date.parse('2026-01-15T12:00:00.000Z') };
  const store = new MetricStore();
  const recorder = new Recorder(store, {
    k: [5, 10],
    windowSeconds: 300,
    attributionWindowSeconds: 1800,
    maxPendingLists: 1_000_000,
  });
  const parser = new JsonLineParser(defaultSource([]));
  const history = new StatusHistory(store, { now: () => clock.ms });
  const feed = (lines: readonly string[]) => {
    for (const line of lines) recorder.line(parser.parse(line, clock.ms));
  };
  /** Moves the clock on and takes a reading. */
  const after = (seconds: number) => {
    clock.ms += seconds * 1000;
    history.sample();
  };
  return { clock, store, history, feed, after };
}

/** Serves a status router on 127.0.0.1, mounted at `mount`. */
export async function serve(
  options: StatusRouterOptions,
  mount = '/',
): Promise<{ base: string; close: () => Promise<void> }> {
  const app = express();
  app.use(mount, statusRouter(options));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Counts of one (model, version, scene), from raw lines. */
export interface ExpectedCounts {
  requests: number;
  errors: number;
  latenciesSeconds: number[];
  recommended: number;
  relevant: number;
  hits: number;
}

interface OpenList {
  key: string;
  timeMs: number;
  items: string[];
  acted: Set<string>;
}

const ATTRIBUTION_MS = 1800 * 1000;

/**
 * Counts as the log format document describes them. The demo's purchases
 * carry only a user, so each goes to the user's latest non-empty list
 * when it came no earlier and at most 30 minutes after it.
 */
export function expectedCounts(
  lines: readonly string[],
): Map<string, ExpectedCounts> {
  const byKey = new Map<string, ExpectedCounts>();
  const latestOfUser = new Map<string, OpenList>();
  const countsOf = (key: string) => {
    let found = byKey.get(key);
    if (!found) {
      found = {
        requests: 0,
        errors: 0,
        latenciesSeconds: [],
        recommended: 0,
        relevant: 0,
        hits: 0,
      };
      byKey.set(key, found);
    }
    return found;
  };
  for (const line of lines) {
    const o = JSON.parse(line) as Record<string, unknown>;
    const timeMs = Date.parse(String(o.time));
    if (o.type === 'inference') {
      const key = `${o.model}|${o.model_version}|${o.scene}`;
      const c = countsOf(key);
      const items = o.items as string[];
      c.requests += 1;
      if (o.status === 'error' || o.status === 'timeout') c.errors += 1;
      if (typeof o.latency_ms === 'number')
        c.latenciesSeconds.push(o.latency_ms / 1000);
      if (items.length > 0 && (o.user || o.request_id))
        c.recommended += items.length;
      if (items.length > 0 && o.user) {
        latestOfUser.set(String(o.user), {
          key,
          timeMs,
          items,
          acted: new Set(),
        });
      }
      continue;
    }
    const list = latestOfUser.get(String(o.user));
    if (!list || timeMs < list.timeMs || timeMs - list.timeMs > ATTRIBUTION_MS)
      continue;
    const item = String(o.item);
    if (list.acted.has(item)) continue;
    list.acted.add(item);
    countsOf(list.key).relevant += 1;
    if (list.items.includes(item)) countsOf(list.key).hits += 1;
  }
  return byKey;
}

/**
 * The q-quantile estimate from raw values: count the values at or below
 * each bound, find the first bound whose count reaches q of all, and
 * place the estimate linearly between that bound and the one before.
 */
export function quantileOfValues(
  q: number,
  values: readonly number[],
): number | null {
  if (values.length === 0) return null;
  const rank = q * values.length;
  let lower = 0;
  let below = 0;
  for (const bound of LATENCY_BUCKETS_SECONDS) {
    const atOrBelow = values.filter((v) => v <= bound).length;
    if (atOrBelow >= rank) {
      return lower + ((bound - lower) * (rank - below)) / (atOrBelow - below);
    }
    lower = bound;
    below = atOrBelow;
  }
  return LATENCY_BUCKETS_SECONDS[LATENCY_BUCKETS_SECONDS.length - 1]!;
}

/** The figures the status JSON should show for counts over `seconds`. */
export function expectedFigures(c: ExpectedCounts, seconds: number) {
  const precision = c.recommended > 0 ? c.hits / c.recommended : null;
  const recall = c.relevant > 0 ? c.hits / c.relevant : null;
  const f1 =
    precision === null || recall === null
      ? null
      : precision + recall === 0
        ? 0
        : (2 * precision * recall) / (precision + recall);
  return {
    qps: c.requests / seconds,
    latencyP50Seconds: quantileOfValues(0.5, c.latenciesSeconds),
    latencyP99Seconds: quantileOfValues(0.99, c.latenciesSeconds),
    errorRatio: c.requests > 0 ? c.errors / c.requests : null,
    precision,
    recall,
    f1,
  };
}
