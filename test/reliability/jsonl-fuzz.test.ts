/**
 * Property-based fuzzing of the JSON Lines parser and of what it feeds: the
 * recorder, its series limits and the attribution join. Lines are
 * generated (wrong types in every field, times far in the past or future,
 * feedback before its list, duplicate request ids, endless model names),
 * truncated and garbled, or taken from the demo replay and mutated.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultSource } from '../../src/config/schema.js';
import { JsonLineParser, MAX_LABEL_LENGTH } from '../../src/formats/jsonl.js';
import * as defs from '../../src/metrics/definitions.js';
import { OVERFLOW, Recorder } from '../../src/metrics/recorder.js';
import { CounterFamily, MetricStore } from '../../src/metrics/store.js';
import { replayLines } from './demo-lines.js';
import { checkResult, REJECT_REASONS, SKIP_REASONS } from './line-results.js';

const NOW = Date.UTC(2026, 11, 4, 10);
const HOUR_MS = 3_600_000;

const LIMITS = { maxLabelSets: 4, maxOutcomes: 2, maxPendingLists: 8 };

/** Lines fed through the parser in this file, for the total asserted last. */
let linesFed = 0;
/** Results and joins seen over every run, to show the generators reach them. */
const seen = new Map<string, number>();

function tally(key: string, by = 1): void {
  seen.set(key, (seen.get(key) ?? 0) + by);
}

// ---- generators ---------------------------------------------------------

const pool = (prefix: string, size: number) =>
  fc.integer({ min: 0, max: size - 1 }).map((i) => `${prefix}${i}`);

/** Any value of the wrong kind: objects, arrays, odd numbers and strings. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.double(),
  fc.constantFrom(null, true, '', -1, 1e308, '1e400', 'Infinity', 'NaN', '-0'),
);

/** A plausible value most of the time, else a wrong one or none at all. */
function field(plausible: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: plausible, weight: 6 },
    { arbitrary: wrongValue, weight: 2 },
    { arbitrary: fc.constant(undefined), weight: 2 },
  );
}

const eventTime = fc.oneof(
  fc
    .integer({ min: NOW - HOUR_MS, max: NOW + HOUR_MS })
    .map((ms) => new Date(ms).toISOString()),
  fc.integer({ min: NOW - HOUR_MS, max: NOW + HOUR_MS }),
  fc
    .integer({ min: NOW - HOUR_MS, max: NOW + HOUR_MS })
    .map((ms) => Math.floor(ms / 1000)),
  // Anywhere in the range a Date can hold, years -271821 to 275760.
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(-8.64e15, 8.64e15, 8.64e15 + 1, 1e20, -1e20, 0, 1e11 - 1),
);

const itemId = fc.oneof(pool('sku-', 20), fc.integer({ min: 0, max: 30 }));

const items = fc.oneof(
  fc.array(itemId, { maxLength: 12 }),
  fc.array(fc.record({ id: itemId }), { maxLength: 12 }),
  fc.array(pool('sku-', 20), { maxLength: 12 }).map((ids) => ids.join(',')),
  fc.array(wrongValue, { maxLength: 4 }),
);

/** Model names without end, so the label-set limit must fold them. */
const model = fc.oneof(
  pool('model-', 3),
  fc.nat().map((n) => `model-${n}`),
  fc.string({ maxLength: MAX_LABEL_LENGTH + 10 }),
  fc.constant(OVERFLOW),
);

const record = fc.record(
  {
    type: field(fc.constantFrom('inference', 'feedback', 'heartbeat', '')),
    time: field(eventTime),
    request_id: field(pool('req-', 8)),
    model: field(model),
    model_version: field(pool('v', 3)),
    scene: field(fc.constantFrom('search', 'recommend', 'home')),
    latency_ms: field(fc.double({ min: -1, max: 1e6, noNaN: true })),
    status: field(fc.oneof(fc.constantFrom('ok', 'error'), pool('s', 10))),
    items: field(items),
    user: field(pool('user-', 8)),
    item: field(itemId),
    action: field(
      fc.constantFrom('click', 'cart', 'purchase', 'BUY', 'view', 'like'),
    ),
  },
  { requiredKeys: [] },
);

/** A line cut short, or with a few characters replaced. */
function damaged(line: string): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constant(line), weight: 4 },
    {
      arbitrary: fc.nat({ max: line.length }).map((at) => line.slice(0, at)),
      weight: 1,
    },
    fc
      .tuple(
        fc.nat({ max: line.length }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }),
      )
      .map(([at, junk]) => line.slice(0, at) + junk + line.slice(at + 1)),
  );
}

/** Feedback written before the list it acts on, sharing a request id. */
const feedbackFirst = fc
  .record({
    id: pool('req-', 8),
    listMs: fc.integer({ min: NOW - HOUR_MS, max: NOW }),
    earlierMs: fc.integer({ min: 1, max: 60_000 }),
    item: pool('sku-', 20),
  })
  .map(({ id, listMs, earlierMs, item }) => [
    JSON.stringify({
      type: 'feedback',
      time: listMs - earlierMs,
      request_id: id,
      item,
      action: 'click',
    }),
    JSON.stringify({
      type: 'inference',
      time: listMs,
      request_id: id,
      model: 'two-tower',
      items: [item, 'sku-0'],
    }),
  ]);

/** A list that parses, from an endless supply of models and outcomes. */
const servedList = fc
  .record({
    type: fc.constant('inference'),
    time: fc.integer({ min: NOW - HOUR_MS, max: NOW + HOUR_MS }),
    request_id: pool('req-', 8),
    model,
    model_version: pool('v', 3),
    status: fc.oneof(fc.constantFrom('ok', 'error'), pool('s', 10)),
    items: fc.array(pool('sku-', 20), { minLength: 1, maxLength: 12 }),
    user: pool('user-', 8),
  })
  .map((r) => [JSON.stringify(r)]);

const generatedLine: fc.Arbitrary<string[]> = fc.oneof(
  { arbitrary: servedList, weight: 3 },
  {
    arbitrary: record.chain((r) => damaged(JSON.stringify(r))).map((l) => [l]),
    weight: 8,
  },
  {
    arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((l) => [l]),
    weight: 1,
  },
  { arbitrary: fc.jsonValue().map((v) => [JSON.stringify(v)]), weight: 1 },
  { arbitrary: fc.constantFrom('', ' ', '\t \t').map((l) => [l]), weight: 1 },
  { arbitrary: feedbackFirst, weight: 2 },
);

/** A demo line with one field removed, retyped, or the text damaged. */
function mutatedSeed(seeds: string[]): fc.Arbitrary<string> {
  const keys = Object.keys(defaultSource().fields).length;
  return fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.nat({ max: keys }),
      wrongValue,
      fc.constantFrom('drop', 'retype', 'text'),
    )
    .chain(([seed, keyIndex, value, how]) => {
      if (how === 'text') return damaged(seed);
      const obj = JSON.parse(seed) as Record<string, unknown>;
      const key = Object.keys(obj)[keyIndex % Object.keys(obj).length]!;
      if (how === 'drop') delete obj[key];
      else obj[key] = value;
      return fc.constant(JSON.stringify(obj));
    });
}

// ---- the system under test and an independent expectation ---------------

/** What the series limits should make of the accepted inference events. */
class ExpectedSeries {
  readonly outcomesBySet = new Map<string, Set<string>>();
  foldedLabelSets = 0;
  foldedOutcomes = 0;

  add(model: string, version: string, scene: string, outcome: string): void {
    let key = [model, version, scene].join('/');
    if (!this.outcomesBySet.has(key)) {
      if (this.outcomesBySet.size >= LIMITS.maxLabelSets) {
        this.foldedLabelSets++;
        key = [OVERFLOW, OVERFLOW, OVERFLOW].join('/');
      }
      if (!this.outcomesBySet.has(key)) this.outcomesBySet.set(key, new Set());
    }
    const outcomes = this.outcomesBySet.get(key)!;
    if (outcomes.has(outcome)) return;
    if (outcomes.size >= LIMITS.maxOutcomes) {
      this.foldedOutcomes++;
      outcomes.add(OVERFLOW);
    } else {
      outcomes.add(outcome);
    }
  }

  get series(): number {
    let n = 0;
    for (const outcomes of this.outcomesBySet.values()) n += outcomes.size;
    return n;
  }
}

interface Run {
  parser: JsonLineParser;
  store: MetricStore;
  recorder: Recorder;
  expected: ExpectedSeries;
  results: Map<string, number>;
  inference: number;
  feedback: number;
}

function newRun(): Run {
  const store = new MetricStore();
  const recorder = new Recorder(store, {
    k: [1, 5],
    windowSeconds: 300,
    attributionWindowSeconds: 1800,
    maxPendingLists: LIMITS.maxPendingLists,
    maxLabelSets: LIMITS.maxLabelSets,
    maxOutcomesPerLabelSet: LIMITS.maxOutcomes,
    now: () => NOW,
  });
  const parser = new JsonLineParser(defaultSource(['fuzz.jsonl']));
  const expected = new ExpectedSeries();
  return {
    parser,
    store,
    recorder,
    expected,
    results: new Map(),
    inference: 0,
    feedback: 0,
  };
}

const FIELD_PATHS = new Set(Object.values(defaultSource().fields));

function feed(run: Run, line: string): void {
  linesFed++;
  const result = run.parser.parse(line, NOW);
  checkResult(result, FIELD_PATHS);
  const key = result.ok
    ? 'parsed/ok'
    : `${result.skipped ? 'skipped' : 'malformed'}/${result.reason}`;
  run.results.set(key, (run.results.get(key) ?? 0) + 1);
  tally(key);
  if (result.ok && result.event.kind === 'inference') {
    const e = result.event;
    run.expected.add(e.model, e.version, e.scene, e.outcome);
    run.inference++;
  } else if (result.ok) {
    run.feedback++;
  }
  run.recorder.line(result);
  expect(run.recorder.join.pending).toBeLessThanOrEqual(LIMITS.maxPendingLists);
}

function counter(store: MetricStore, name: string): CounterFamily {
  const family = store.get(name);
  if (!(family instanceof CounterFamily)) throw new Error(`no counter ${name}`);
  return family;
}

function total(family: CounterFamily, match?: (values: string[]) => boolean) {
  let sum = 0;
  for (const { values, child } of family.children.values()) {
    if (!match || match(values)) sum += child.value;
  }
  return sum;
}

/** Every count the run's store holds, against the run's own tallies. */
function checkRun(run: Run, fed: number): void {
  const { store, expected } = run;
  store.collect((err) => {
    throw err;
  });
  const lines = counter(store, defs.ingest.lines.name);
  expect(total(lines)).toBe(fed);
  for (const { values, child } of lines.children.values()) {
    expect(child.value).toBe(run.results.get(values.join('/')) ?? 0);
  }

  const requests = counter(store, defs.serving.requests.name);
  expect(total(requests)).toBe(run.inference);
  expect(requests.children.size).toBe(expected.series);
  const bound = (LIMITS.maxLabelSets + 1) * (LIMITS.maxOutcomes + 1);
  expect(requests.children.size).toBeLessThanOrEqual(bound);
  const labelSets = expected.outcomesBySet.size;
  expect(labelSets).toBeLessThanOrEqual(LIMITS.maxLabelSets + 1);
  expect(counter(store, defs.quality.lists.name).children.size).toBe(labelSets);
  expect(store.get(defs.window.qps.name)!.children.size).toBe(labelSets);

  const folded = counter(store, defs.limits.folded.name);
  expect(total(folded, (v) => v[0] === 'label_sets')).toBe(
    expected.foldedLabelSets,
  );
  expect(total(folded, (v) => v[0] === 'outcomes')).toBe(
    expected.foldedOutcomes,
  );
  const feedback = counter(store, defs.attribution.feedback.name);
  expect(total(feedback)).toBe(run.feedback);
  for (const { values, child } of feedback.children.values()) {
    tally(`attribution/${values[1]}`, child.value);
  }
  tally('folded/label_sets', expected.foldedLabelSets);
  tally('folded/outcomes', expected.foldedOutcomes);
  const evictions = counter(store, defs.attribution.evictions.name);
  for (const { values, child } of evictions.children.values()) {
    tally(`evicted/${values[0]}`, child.value);
  }
  expect(feedback.children.size).toBeLessThanOrEqual(9);

  for (const name of ['hits', 'relevant', 'recommended', 'lists'] as const) {
    for (const { child } of counter(
      store,
      defs.quality[name].name,
    ).children.values()) {
      expect(Number.isFinite(child.value) && child.value >= 0).toBe(true);
    }
  }
}

// ---- properties -----------------------------------------------------------

describe('JSON Lines parser under generated input', () => {
  let seeds: string[] = [];

  beforeAll(async () => {
    seeds = await replayLines(100);
  });

  it('never throws, answers with a documented reason, counts every line, and keeps series and pending lists bounded', () => {
    fc.assert(
      fc.property(
        fc.array(generatedLine, { minLength: 25, maxLength: 35 }),
        (groups) => {
          const run = newRun();
          const lines = groups.flat();
          for (const line of lines) feed(run, line);
          checkRun(run, lines.length);
        },
      ),
      { numRuns: 1400 },
    );
  });

  it('holds the same properties for mutated lines of the demo replay', () => {
    expect(seeds.length).toBeGreaterThan(100);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(mutatedSeed(seeds), fc.constantFrom(...seeds)), {
          minLength: 40,
          maxLength: 60,
        }),
        (lines) => {
          const run = newRun();
          for (const line of lines) feed(run, line);
          checkRun(run, lines.length);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('rejects or bounds lines of a megabyte and more', () => {
    const megabyte = 'x'.repeat(1 << 20);
    const cases: Array<[string, string]> = [
      [JSON.stringify({ type: 'inference', model: megabyte }), 'bad_value'],
      [
        JSON.stringify({
          type: 'inference',
          model: 'm',
          latency_ms: '9'.repeat(1 << 20),
        }),
        'bad_value',
      ],
      [
        JSON.stringify({ type: 'feedback', action: 'click', item: megabyte }),
        'missing_field',
      ],
      ['['.repeat(1 << 20), 'not_json'],
      [
        '{"a":' + '['.repeat(1 << 20) + ']'.repeat(1 << 20) + '}',
        'unknown_kind',
      ],
      [megabyte, 'not_json'],
    ];
    const run = newRun();
    for (const [line, reason] of cases) {
      const result = run.parser.parse(line, NOW);
      expect(result.ok ? 'ok' : result.reason).toBe(reason);
      feed(run, line);
    }
    // A list of 100 000 items is served, and the join keeps only its head.
    const many = Array.from({ length: 100_000 }, (_, i) => `sku-${i}`);
    const line = JSON.stringify({
      type: 'inference',
      model: 'm',
      request_id: 'r',
      items: many,
    });
    feed(run, line);
    checkRun(run, cases.length + 1);
    const recommended = counter(run.store, defs.quality.recommended.name);
    expect(total(recommended)).toBe(100);
  });

  it('rejects a time that is not a finite instant', () => {
    const source = defaultSource(['fuzz.jsonl']);
    source.fields.timeUnit = 's';
    const parser = new JsonLineParser(source);
    for (const time of ['Infinity', '-Infinity', '1e400', 'soon']) {
      const line = JSON.stringify({ type: 'inference', model: 'm', time });
      expect(parser.parse(line, NOW)).toEqual({
        ok: false,
        skipped: false,
        reason: 'bad_time',
        field: 'time',
      });
    }
  });

  it('fed at least 60 000 lines, reaching every result and limit', () => {
    console.info(`jsonl fuzzing: ${linesFed} lines`);
    expect(linesFed).toBeGreaterThanOrEqual(60_000);
    const reached = [
      'parsed/ok',
      ...SKIP_REASONS.map((r) => `skipped/${r}`),
      // too_long comes from the splitter, never from the parser.
      ...REJECT_REASONS.filter((r) => r !== 'too_long').map(
        (r) => `malformed/${r}`,
      ),
      'attribution/request',
      'attribution/user',
      'attribution/none',
      'folded/label_sets',
      'folded/outcomes',
      'evicted/age',
      'evicted/size',
    ];
    for (const key of reached)
      expect(seen.get(key) ?? 0, key).toBeGreaterThan(0);
  });
});
