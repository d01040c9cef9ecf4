import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  lapShiftMillis,
  resolveReplayOptions,
  runReplay,
  type ReplayOptions,
  type ReplaySummary,
} from '../../src/demo/replay.js';
import type { ShopSale } from '../../src/demo/shop-data.js';
import {
  isPurchase,
  readSliceRows,
  servedInvoices,
  SLICE_PATH,
  type RawRow,
} from './retail-rows.js';

const DAY = 24 * 3600_000;

interface Line {
  type: 'inference' | 'feedback';
  time: string;
  request_id?: string;
  model?: string;
  model_version?: string;
  scene?: string;
  latency_ms?: number;
  status?: string;
  items?: string[];
  user: string;
  item?: string;
  action?: string;
}

/** A stream that keeps every line written to it. */
function memoryOutput(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  let rest = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
      done();
    },
  });
  return { stream, lines };
}

async function replayToMemory(
  options: Partial<ReplayOptions> = {},
): Promise<{ summary: ReplaySummary; lines: string[] }> {
  const { stream, lines } = memoryOutput();
  const summary = await runReplay({
    dataPath: SLICE_PATH,
    output: stream,
    speedup: 0,
    clock: 'source',
    progress: false,
    ...options,
  });
  return { summary, lines };
}

/** Distinct product codes bought on each invoice, in first-seen order. */
function productsByInvoice(rows: RawRow[]): Map<string, string[]> {
  const products = new Map<string, string[]>();
  for (const row of rows.filter(isPurchase)) {
    const codes = products.get(row.invoiceNo) ?? [];
    if (!codes.includes(row.stockCode)) codes.push(row.stockCode);
    products.set(row.invoiceNo, codes);
  }
  return products;
}

describe('replay of the shipped slice (clock=source, speedup 0)', () => {
  const rows = readSliceRows();
  const invoices = servedInvoices(rows);
  const products = productsByInvoice(rows);
  const firstRow = new Map<string, RawRow>();
  for (const row of rows) {
    if (!firstRow.has(row.invoiceNo)) firstRow.set(row.invoiceNo, row);
  }
  const allInvoices = new Set(rows.map((r) => r.invoiceNo));
  let summary: ReplaySummary;
  let events: Line[];

  beforeAll(async () => {
    const result = await replayToMemory();
    summary = result.summary;
    events = result.lines.map((line) => JSON.parse(line) as Line);
  });

  it('serves one list per invoice that bought a product', () => {
    const inference = events.filter((e) => e.type === 'inference');
    expect(inference.map((e) => e.request_id)).toEqual(
      invoices.map((no) => `req-${no}`),
    );
    const feedbackCount = invoices.reduce(
      (sum, no) => sum + products.get(no)!.length,
      0,
    );
    expect(summary).toEqual({
      invoices: invoices.length,
      inferenceLines: invoices.length,
      feedbackLines: feedbackCount,
      emptyLists: 1,
      laps: 1,
      skippedInvoices: allInvoices.size - invoices.length,
      badRows: 0,
      aborted: false,
    });
    expect(events).toHaveLength(invoices.length + feedbackCount);
  });

  it('follows each list with its invoice’s distinct products', () => {
    let position = 0;
    for (const invoiceNo of invoices) {
      const inference = events[position]!;
      const row = firstRow.get(invoiceNo)!;
      const user = row.customerId || `session-${invoiceNo}`;
      expect(inference).toMatchObject({ type: 'inference', user });
      expect(inference.time).toBe(`${row.date}:00.000Z`);

      const codes = products.get(invoiceNo)!;
      const feedback = events.slice(position + 1, position + 1 + codes.length);
      expect(feedback).toEqual(
        codes.map((item) => ({
          type: 'feedback',
          time: inference.time,
          user,
          item,
          action: 'purchase',
        })),
      );
      position += 1 + codes.length;
    }
  });

  it('writes inference lines in the exporter schema', () => {
    const keys = [
      'type',
      'time',
      'request_id',
      'model',
      'model_version',
      'scene',
      'latency_ms',
      'status',
      'items',
      'user',
    ];
    for (const e of events.filter((l) => l.type === 'inference')) {
      expect(Object.keys(e)).toEqual(keys);
      expect(e.model_version).toBe('v1');
      expect(typeof e.latency_ms).toBe('number');
      expect(e.latency_ms).toBeGreaterThanOrEqual(0);
      expect(e.items!.length).toBeLessThanOrEqual(10);
      expect(new Set(e.items).size).toBe(e.items!.length);
      expect(e.status).toBe(e.items!.length > 0 ? 'ok' : 'empty');
    }
  });

  it('splits known customers stably and sends anonymous ones home', () => {
    const modelsByUser = new Map<string, Set<string>>();
    for (const e of events.filter((l) => l.type === 'inference')) {
      const anonymous = e.user.startsWith('session-');
      expect(e.scene).toBe(anonymous ? 'home' : 'recommend');
      if (anonymous) expect(e.model).toBe('popularity');
      else {
        const models = modelsByUser.get(e.user) ?? new Set<string>();
        modelsByUser.set(e.user, models.add(e.model!));
      }
    }
    const arms = [...modelsByUser.values()];
    expect(arms.every((models) => models.size === 1)).toBe(true);
    const onCooccurrence = arms.filter((m) => m.has('cooccurrence')).length;
    expect(onCooccurrence).toBeGreaterThan(arms.length / 4);
    expect(onCooccurrence).toBeLessThan((arms.length * 3) / 4);
  });

  it('never recommends a product before the invoice that first sold it', () => {
    // Index of the first served invoice that bought each product.
    const firstSale = new Map<string, number>();
    invoices.forEach((no, index) => {
      for (const code of products.get(no)!) {
        if (!firstSale.has(code)) firstSale.set(code, index);
      }
    });
    const lists = events.filter((e) => e.type === 'inference');
    lists.forEach((list, index) => {
      for (const item of list.items!) {
        expect(firstSale.get(item)).toBeLessThan(index);
      }
    });
    // The first customer meets an empty model; only later lists fill up.
    expect(lists[0]!.status).toBe('empty');
    // The second invoice (same customer, popularity arm) sees exactly the
    // products of the first, all seven of them.
    expect(lists[1]!.model).toBe('popularity');
    expect([...lists[1]!.items!].sort()).toEqual(
      [...products.get(invoices[0]!)!].sort(),
    );
  });

  it('gives the same lines on a second run, latency apart', async () => {
    const again = await replayToMemory();
    const withoutLatency = (line: string): string =>
      line.replace(/"latency_ms":[0-9.e-]+,/, '');
    expect(again.lines.map(withoutLatency)).toEqual(
      events.map((e) => withoutLatency(JSON.stringify(e))),
    );
  });
});

describe('replay options', () => {
  it('waits data-time gaps over the speedup, capped', async () => {
    const waits: number[] = [];
    const { lines } = await replayToMemory({
      speedup: 60,
      maxSleepMillis: 5000,
      limit: 40,
      sleep: async (millis) => {
        waits.push(millis);
      },
    });
    const times = lines
      .map((line) => JSON.parse(line) as Line)
      .filter((e) => e.type === 'inference')
      .map((e) => Date.parse(e.time));
    // A one-minute gap at 60x is one real second; zero gaps do not wait.
    const expected = times
      .slice(1)
      .map((t, i) => Math.min((t - times[i]!) / 60, 5000))
      .filter((ms) => ms > 0);
    expect(waits).toEqual(expected);
    expect(waits).toContain(1000);
    expect(waits).toContain(5000);
  });

  it('writes wall-clock times with clock=now', async () => {
    const before = Date.now();
    const { lines } = await replayToMemory({ clock: 'now', limit: 5 });
    const after = Date.now();
    const times = lines.map((line) => {
      return Date.parse((JSON.parse(line) as Line).time);
    });
    expect(times.every((t) => t >= before && t <= after)).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('loops on shifted days with distinct keys, up to the limit', async () => {
    const invoices = servedInvoices(readSliceRows());
    const { summary, lines } = await replayToMemory({
      loop: true,
      limit: invoices.length + 3,
    });
    expect(summary.laps).toBe(2);
    expect(summary.invoices).toBe(invoices.length + 3);
    const secondLap = lines
      .map((line) => JSON.parse(line) as Line)
      .filter((e) => e.type === 'inference')
      .slice(invoices.length);
    expect(secondLap.map((e) => e.request_id)).toEqual(
      invoices.slice(0, 3).map((no) => `req-${no}.2`),
    );
    // The slice spans 2010-12-01 to 2010-12-09: lap 2 starts on 12-10.
    expect(secondLap[0]!.time).toBe('2010-12-10T08:26:00.000Z');
    expect(secondLap[0]!.status).toBe('ok');
  });

  it('stops between invoices when the signal aborts', async () => {
    const stop = new AbortController();
    const { stream, lines } = memoryOutput();
    const summary = await runReplay({
      dataPath: SLICE_PATH,
      output: stream,
      clock: 'source',
      speedup: 1,
      progress: false,
      signal: stop.signal,
      // Abort while waiting for the third invoice's turn.
      sleep: async (_millis, signal) => {
        const served = lines.filter((l) => l.includes('"inference"'));
        if (served.length === 2) stop.abort();
        expect(signal).toBe(stop.signal);
      },
    });
    expect(summary.aborted).toBe(true);
    expect(summary.invoices).toBe(2);
    expect(lines.filter((l) => l.includes('"inference"'))).toHaveLength(2);
  });

  it('cuts a real wait short on abort', { timeout: 10_000 }, async () => {
    const stop = new AbortController();
    let written = 0;
    const output = new Writable({
      write(_chunk, _encoding, done) {
        written += 1;
        // Abort once the replay is waiting for the second invoice's turn.
        if (written === 1) setTimeout(() => stop.abort(), 20);
        done();
      },
    });
    // The second invoice comes two data minutes after the first: at 1x
    // that is a two-minute real wait, which only the abort can end.
    const summary = await runReplay({
      dataPath: SLICE_PATH,
      output,
      speedup: 1,
      maxSleepMillis: 600_000,
      progress: false,
      signal: stop.signal,
    });
    expect(summary).toMatchObject({ aborted: true, invoices: 1 });
    expect(written).toBe(1);
  });

  it('rejects bad options by name', () => {
    const base = { dataPath: SLICE_PATH, output: 'x' };
    expect(() => resolveReplayOptions({ ...base, k: 0 })).toThrow(
      'replay option k must be a whole number >= 1, got 0',
    );
    expect(() => resolveReplayOptions({ ...base, speedup: -1 })).toThrow(
      'replay option speedup must be a number >= 0, got -1',
    );
    expect(() => resolveReplayOptions({ ...base, limit: 2.5 })).toThrow(
      'replay option limit must be a whole number >= 1, got 2.5',
    );
    expect(() =>
      resolveReplayOptions({ ...base, clock: 'utc' as 'now' }),
    ).toThrow("replay option clock must be 'source' or 'now', got 'utc'");
    expect(resolveReplayOptions({ ...base, k: undefined }).k).toBe(10);
  });

  it('shifts whole days from the first day to the day after the last', () => {
    const at = (iso: string): ShopSale => ({
      invoiceNo: '1',
      timeMs: Date.parse(iso),
      purchases: [],
    });
    expect(
      lapShiftMillis([at('2010-12-01T08:26:00Z'), at('2010-12-09T20:01:00Z')]),
    ).toBe(9 * DAY);
    expect(lapShiftMillis([at('2010-12-01T23:59:00Z')])).toBe(DAY);
  });
});

describe('replay into a file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates directories and appends on each run', async () => {
    const output = join(dir, 'logs', 'model', 'server.jsonl');
    const options: ReplayOptions = {
      dataPath: SLICE_PATH,
      output,
      speedup: 0,
      clock: 'source',
      limit: 2,
      progress: false,
    };
    const first = await runReplay(options);
    await runReplay(options);
    const text = await readFile(output, 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const perRun = first.inferenceLines + first.feedbackLines;
    expect(lines).toHaveLength(2 * perRun);
    const requests = lines
      .map((line) => JSON.parse(line) as Line)
      .map((e) => e.request_id ?? e.item);
    const half = requests.length / 2;
    expect(requests.slice(0, half)).toEqual(requests.slice(half));
    expect(requests[0]).toBe('req-536365');
  });

  it('names an unreadable data file', async () => {
    const missing = join(dir, 'nope.csv');
    await expect(
      runReplay({
        dataPath: missing,
        output: join(dir, 'out.jsonl'),
        progress: false,
      }),
    ).rejects.toThrow(`cannot read shop data file ${missing}`);
  });

  it('draws a final progress line on the given output', async () => {
    const writes: string[] = [];
    const summary = await runReplay({
      dataPath: SLICE_PATH,
      output: join(dir, 'out.jsonl'),
      speedup: 0,
      limit: 50,
      progressOutput: {
        isTTY: false,
        write: (text: string) => writes.push(text),
      },
    });
    expect(summary.invoices).toBe(50);
    expect(writes.at(-1)).toMatch(/^replay \[#{20}\] 100\.0% 50\/50 invoices /);
  });
});
