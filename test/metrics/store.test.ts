import { describe, expect, it } from 'vitest';
import { MetricStore } from '../../src/metrics/store.js';
import type { MetricDefinition } from '../../src/metrics/definitions.js';

const requests: MetricDefinition = {
  name: 'demo_requests_total',
  type: 'counter',
  help: 'Requests "seen"\\handled.',
  labels: ['path'],
};
const latency: MetricDefinition = {
  name: 'demo_latency_seconds',
  type: 'histogram',
  help: 'Latency.',
  labels: [],
};

describe('MetricStore', () => {
  it('renders the Prometheus text format with escaped labels and cumulative buckets', () => {
    const store = new MetricStore();
    store.counter(requests).labels('a"b\\c\nd').inc(3);
    const h = store.histogram(latency, [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 3]) h.labels().observe(v);
    expect(store.render('prometheus')).toBe(
      [
        '# HELP demo_requests_total Requests "seen"\\\\handled.',
        '# TYPE demo_requests_total counter',
        'demo_requests_total{path="a\\"b\\\\c\\nd"} 3',
        '# HELP demo_latency_seconds Latency.',
        '# TYPE demo_latency_seconds histogram',
        'demo_latency_seconds_bucket{le="0.1"} 2',
        'demo_latency_seconds_bucket{le="1"} 3',
        'demo_latency_seconds_bucket{le="+Inf"} 4',
        'demo_latency_seconds_sum 3.65',
        'demo_latency_seconds_count 4',
        '',
      ].join('\n'),
    );
  });

  it('renders OpenMetrics with counter names without _total and an EOF', () => {
    const store = new MetricStore();
    store.counter(requests).labels('x').inc();
    const text = store.render('openmetrics');
    expect(text).toContain(
      '# TYPE demo_requests counter\ndemo_requests_total{path="x"} 1\n',
    );
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it('restores counters and histograms from a snapshot, adding to what is there', () => {
    const a = new MetricStore();
    a.counter(requests).labels('x').inc(5);
    a.histogram(latency, [0.1, 1]).labels().observe(0.5);
    const snap = JSON.parse(JSON.stringify(a.snapshot()));

    const b = new MetricStore();
    const c = b.counter(requests);
    const h = b.histogram(latency, [0.1, 1]);
    c.labels('x').inc(1);
    b.restore(snap);
    expect(c.labels('x').value).toBe(6);
    expect([...h.labels().counts]).toEqual([0, 1]);
    expect(h.labels().count).toBe(1);
  });

  it('refuses a wrong number of label values and a clashing definition', () => {
    const store = new MetricStore();
    expect(() => store.counter(requests).labels()).toThrow(
      /expected 1 label values, got 0/,
    );
    expect(() => store.gauge({ ...requests, type: 'gauge' })).toThrow(
      /registered twice/,
    );
    expect(store.counter(requests)).toBe(store.counter(requests));
  });
});

describe('MetricStore.snapshot', () => {
  it('leaves out the families the filter rejects', () => {
    const store = new MetricStore();
    store.counter(requests).labels('x').inc(2);
    store.histogram(latency, [1]).labels().observe(0.5);
    const snap = store.snapshot((name) => name !== latency.name);
    expect(snap.counters).toEqual({ demo_requests_total: [[['x'], 2]] });
    expect(snap.histograms).toEqual({});
  });
});

describe('MetricStore.restore before a family exists', () => {
  it('gives a family created later its saved values, once', () => {
    const a = new MetricStore();
    a.counter(requests).labels('x').inc(4);
    a.histogram(latency, [1]).labels().observe(0.5);
    const snap = a.snapshot();

    const b = new MetricStore();
    b.restore(snap);
    const later = b.counter(requests);
    expect(later.labels('x').value).toBe(4);
    expect(b.histogram(latency, [1]).labels().count).toBe(1);
    // Asking for the family again must not add the values a second time.
    expect(b.counter(requests).labels('x').value).toBe(4);
  });
});
