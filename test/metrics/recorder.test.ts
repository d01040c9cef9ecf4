import { describe, expect, it } from 'vitest';
import type {
  FeedbackEvent,
  InferenceEvent,
} from '../../src/formats/events.js';
import { Recorder } from '../../src/metrics/recorder.js';
import { MetricStore } from '../../src/metrics/store.js';

/** Reads one sample's value out of a rendered exposition. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const L = 'model="m",version="v1",scene="search"';

function setup(nowMs: { t: number }) {
  const store = new MetricStore();
  const recorder = new Recorder(store, {
    k: [1, 3],
    windowSeconds: 300,
    attributionWindowSeconds: 60,
    maxPendingLists: 100,
    now: () => nowMs.t,
  });
  return { store, recorder };
}

const list: InferenceEvent = {
  kind: 'inference',
  timeMs: 0,
  requestId: 'r1',
  userKey: 'u1',
  model: 'm',
  version: 'v1',
  scene: 'search',
  outcome: 'ok',
  latencySeconds: 0.004,
  items: ['a', 'b', 'c', 'd'],
};

function feedback(
  timeMs: number,
  itemId: string,
  key: Partial<FeedbackEvent>,
): FeedbackEvent {
  return { kind: 'feedback', timeMs, itemId, action: 'click', ...key };
}

describe('Recorder', () => {
  it('counts quality so that precision, recall, F1 and NDCG come out as computed by hand', () => {
    const clock = { t: 1_000_000 };
    const { store, recorder } = setup(clock);
    recorder.inference(list);
    recorder.feedback(feedback(10_000, 'c', { userKey: 'u1' }));
    recorder.feedback(feedback(20_000, 'a', { requestId: 'r1' }));
    recorder.feedback(feedback(30_000, 'z', { userKey: 'u1' }));
    recorder.feedback(feedback(31_000, 'c', { userKey: 'u1' }));
    clock.t += 10_000;

    store.collect();
    const text = store.render('prometheus');
    expect(sample(text, `inference_requests_total{${L},outcome="ok"}`)).toBe(1);
    expect(sample(text, `inference_returned_items_total{${L}}`)).toBe(4);
    expect(
      sample(text, `inference_quality_recommended_items_total{${L}}`),
    ).toBe(4);
    expect(sample(text, `inference_quality_relevant_items_total{${L}}`)).toBe(
      3,
    );
    expect(sample(text, `inference_quality_hits_total{${L}}`)).toBe(2);

    // Hits: c at rank 3, a at rank 1; relevant: c, a, z.
    expect(sample(text, `inference_quality_hits_at_k_total{${L},k="1"}`)).toBe(
      1,
    );
    expect(sample(text, `inference_quality_hits_at_k_total{${L},k="3"}`)).toBe(
      2,
    );
    expect(
      sample(
        text,
        `inference_quality_recommended_items_at_k_total{${L},k="3"}`,
      ),
    ).toBe(3);
    expect(
      sample(text, `inference_quality_lists_hit_at_k_total{${L},k="1"}`),
    ).toBe(1);
    expect(
      sample(text, `inference_quality_lists_hit_at_k_total{${L},k="3"}`),
    ).toBe(1);
    // DCG@3 = 1/log2(4) + 1/log2(2) = 1.5; ideal = 1 + 1/log2(3) + 1/log2(4).
    expect(sample(text, `inference_quality_dcg_at_k_total{${L},k="3"}`)).toBe(
      1.5,
    );
    expect(
      sample(text, `inference_quality_ideal_dcg_at_k_total{${L},k="3"}`),
    ).toBeCloseTo(2.1309297535714578, 12);
    expect(sample(text, `inference_quality_dcg_at_k_total{${L},k="1"}`)).toBe(
      1,
    );
    expect(
      sample(text, `inference_quality_ideal_dcg_at_k_total{${L},k="1"}`),
    ).toBe(1);

    expect(sample(text, `inference_window_precision_ratio{${L}}`)).toBe(0.5);
    expect(sample(text, `inference_window_recall_ratio{${L}}`)).toBeCloseTo(
      2 / 3,
      12,
    );
    expect(sample(text, `inference_window_f1_ratio{${L}}`)).toBeCloseTo(
      4 / 7,
      12,
    );
    // One request over the 10 s the exporter has been up.
    expect(
      sample(text, `inference_window_requests_per_second{${L}}`),
    ).toBeCloseTo(0.1, 12);

    expect(
      sample(
        text,
        'inference_feedback_events_total{action="click",attribution="user"}',
      ),
    ).toBe(3);
    expect(
      sample(
        text,
        'inference_feedback_events_total{action="click",attribution="request"}',
      ),
    ).toBe(1);
    expect(sample(text, 'inference_attribution_pending_lists')).toBe(1);
    expect(
      sample(
        text,
        `inference_request_duration_seconds_bucket{${L},le="0.0025"}`,
      ),
    ).toBe(0);
    expect(
      sample(
        text,
        `inference_request_duration_seconds_bucket{${L},le="0.005"}`,
      ),
    ).toBe(1);
  });

  it('lets the window forget what is older than its length', () => {
    const clock = { t: 0 };
    const { store, recorder } = setup(clock);
    recorder.inference(list);
    clock.t = 400_000;
    recorder.inference({ ...list, requestId: 'r2' });
    store.collect();
    const text = store.render('prometheus');
    expect(
      sample(text, `inference_window_requests_per_second{${L}}`),
    ).toBeCloseTo(1 / 300, 12);
    expect(sample(text, `inference_requests_total{${L},outcome="ok"}`)).toBe(2);
  });

  it('counts lines by result and reason', () => {
    const { store, recorder } = setup({ t: 0 });
    recorder.line({ ok: false, skipped: false, reason: 'not_json' });
    recorder.line({ ok: false, skipped: false, reason: 'not_json' });
    recorder.line({ ok: false, skipped: true, reason: 'blank' });
    recorder.line({ ok: true, event: list });
    const text = store.render('prometheus');
    expect(
      sample(
        text,
        'inference_log_lines_total{result="malformed",reason="not_json"}',
      ),
    ).toBe(2);
    expect(
      sample(
        text,
        'inference_log_lines_total{result="skipped",reason="blank"}',
      ),
    ).toBe(1);
    expect(
      sample(text, 'inference_log_lines_total{result="parsed",reason="ok"}'),
    ).toBe(1);
  });
});

describe('Recorder series limits', () => {
  it('folds label sets and outcomes past their limits into "overflow", and counts each fold', () => {
    const store = new MetricStore();
    const recorder = new Recorder(store, {
      k: [1],
      windowSeconds: 60,
      attributionWindowSeconds: 60,
      maxPendingLists: 10,
      maxLabelSets: 2,
      maxOutcomesPerLabelSet: 2,
      now: () => 0,
    });
    for (const model of ['a', 'b', 'c', 'd', 'c'])
      recorder.inference({ ...list, model });
    for (const outcome of ['ok', 'error', 'timeout', 'weird', 'ok'])
      recorder.inference({ ...list, model: 'a', outcome });
    const text = store.render('prometheus');
    const O = 'model="overflow",version="overflow",scene="overflow"';
    expect(sample(text, `inference_requests_total{${O},outcome="ok"}`)).toBe(3);
    expect(
      sample(text, 'inference_cardinality_folded_total{limit="label_sets"}'),
    ).toBe(3);
    expect(
      sample(
        text,
        `inference_requests_total{model="a",version="v1",scene="search",outcome="ok"}`,
      ),
    ).toBe(3);
    expect(
      sample(
        text,
        `inference_requests_total{model="a",version="v1",scene="search",outcome="error"}`,
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        `inference_requests_total{model="a",version="v1",scene="search",outcome="overflow"}`,
      ),
    ).toBe(2);
    expect(
      sample(text, 'inference_cardinality_folded_total{limit="outcomes"}'),
    ).toBe(2);
    expect(text).not.toContain('model="c"');
  });
});

describe('Recorder with feedback read ahead of its lists', () => {
  function holding(clock: { t: number }, maxHeldFeedback = 100) {
    const store = new MetricStore();
    const recorder = new Recorder(store, {
      k: [1],
      windowSeconds: 60,
      attributionWindowSeconds: 60,
      maxPendingLists: 10,
      holdFeedbackMillis: 5_000,
      maxHeldFeedback,
      now: () => clock.t,
    });
    return { store, recorder };
  }
  const click = (timeMs: number, userKey: string, itemId: string) =>
    ({ kind: 'feedback', timeMs, userKey, itemId, action: 'click' }) as const;
  const count = (store: MetricStore, attribution: string) =>
    sample(
      store.render('prometheus'),
      `inference_feedback_events_total{action="click",attribution="${attribution}"}`,
    );

  it('waits for the lists to be read up to its time, then credits the right one', () => {
    const clock = { t: 0 };
    const { store, recorder } = holding(clock);
    recorder.feedback(click(1_500, 'u1', 'b'));
    expect(count(store, 'user')).toBeUndefined();
    recorder.inference({ ...list, requestId: 'r1', timeMs: 1_000 });
    // A later list of the same user: the click at 1.5 s was for the first.
    recorder.inference({
      ...list,
      requestId: 'r2',
      timeMs: 2_000,
      items: ['z'],
    });
    const text = store.render('prometheus');
    expect(count(store, 'user')).toBe(1);
    expect(sample(text, `inference_quality_hits_total{${L}}`)).toBe(1);
  });

  it('credits feedback read after lists far ahead of it to the list before it', () => {
    const { store, recorder } = holding({ t: 0 });
    recorder.inference({ ...list, requestId: 'r1', timeMs: 1_000 });
    recorder.inference({
      ...list,
      requestId: 'r2',
      timeMs: 50_000,
      items: ['z'],
    });
    recorder.feedback(click(1_500, 'u1', 'b'));
    expect(count(store, 'user')).toBe(1);
    expect(
      sample(store.render('prometheus'), `inference_quality_hits_total{${L}}`),
    ).toBe(1);
  });

  it('lets feedback go unmatched when its hold is over, or when the hold is full', () => {
    const clock = { t: 0 };
    const { store, recorder } = holding(clock, 2);
    recorder.feedback(click(1_000, 'x1', 'a'));
    recorder.feedback(click(2_000, 'x2', 'a'));
    recorder.feedback(click(3_000, 'x3', 'a'));
    expect(count(store, 'none')).toBe(1);
    clock.t = 5_000;
    store.collect();
    expect(count(store, 'none')).toBe(3);
  });
});
