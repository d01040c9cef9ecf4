import { afterEach, describe, expect, it, vi } from 'vitest';
import * as defs from '../../src/metrics/definitions.js';
import { MetricStore } from '../../src/metrics/store.js';
import { StatusHistory } from '../../src/server/status-history.js';
import { readHost, readProbes } from '../../src/server/status-readings.js';

const M = ['m', 'v1', 'search'] as const;

function setup(options: { points?: number } = {}) {
  const clock = { ms: 1_700_000_000_000 };
  const store = new MetricStore();
  const f = {
    requests: store.counter(defs.serving.requests),
    duration: store.histogram(
      defs.serving.duration,
      defs.LATENCY_BUCKETS_SECONDS,
    ),
    recommended: store.counter(defs.quality.recommended),
    relevant: store.counter(defs.quality.relevant),
    hits: store.counter(defs.quality.hits),
  };
  const history = new StatusHistory(store, { now: () => clock.ms, ...options });
  const after = (seconds: number) => {
    clock.ms += seconds * 1000;
    history.sample();
  };
  return { clock, store, f, history, after };
}

/** The one model row of a report, by model name. */
function row(history: StatusHistory, model = 'm') {
  const found = history.report().models.find((r) => r.model === model);
  if (!found) throw new Error(`no row for ${model}`);
  return found;
}

describe('StatusHistory', () => {
  it('takes the first reading as a baseline, not as traffic', () => {
    const { f, history } = setup();
    f.requests.labels(...M, 'ok').inc(100);
    history.sample();

    const report = history.report();
    expect(report.windowSeconds).toBe(0);
    expect(report.models).toHaveLength(1);
    expect(report.models[0]).toMatchObject({
      model: 'm',
      version: 'v1',
      scene: 'search',
      qps: null,
      latencyP50Seconds: null,
      errorRatio: null,
      precision: null,
      history: { qps: [], p99: [], precision: [] },
    });
  });

  it('computes rate, latency quantiles, error ratio and quality from increases', () => {
    const { f, history, after } = setup();
    f.requests.labels(...M, 'ok').inc(100);
    history.sample();

    f.requests.labels(...M, 'ok').inc(8);
    f.requests.labels(...M, 'error').inc(1);
    f.requests.labels(...M, 'timeout').inc(1);
    const latency = f.duration.labels(...M);
    for (const v of [
      0.002, 0.002, 0.002, 0.002, 0.02, 0.02, 0.02, 0.02, 0.3, 20,
    ]) {
      latency.observe(v);
    }
    f.recommended.labels(...M).inc(40);
    f.relevant.labels(...M).inc(5);
    f.hits.labels(...M).inc(2);
    after(5);

    const r = row(history);
    expect(r.qps).toBe(2); // 10 requests in 5 s
    expect(r.errorRatio).toBeCloseTo(0.2, 12); // error + timeout of 10
    // Cumulative: <=0.0025: 4, <=0.025: 8, <=0.5: 9, +Inf: 10. The 5th of
    // 10 is the 1st of the 4 in (0.01, 0.025]: 0.01 + 0.015 / 4.
    expect(r.latencyP50Seconds).toBeCloseTo(0.01375, 12);
    // The 9.9th lies in +Inf: the highest finite bound, 10 s.
    expect(r.latencyP99Seconds).toBe(10);
    expect(r.precision).toBeCloseTo(2 / 40, 12);
    expect(r.recall).toBeCloseTo(2 / 5, 12);
    expect(r.f1).toBeCloseTo((2 * 0.05 * 0.4) / 0.45, 12);
    expect(r.history.qps).toEqual([2]);
    expect(r.history.p99).toEqual([10]);

    after(5); // a quiet interval
    const quiet = row(history);
    expect(history.report().windowSeconds).toBe(10);
    expect(quiet.qps).toBe(1);
    expect(quiet.latencyP50Seconds).toBeCloseTo(0.01375, 12);
    expect(quiet.errorRatio).toBeCloseTo(0.2, 12);
    expect(quiet.history.qps).toEqual([2, 0]);
    expect(quiet.history.p99).toEqual([10, null]);
    expect(quiet.history.precision).toEqual([0.05, null]);
  });

  it('counts a label set born between readings from zero, aligned with the rest', () => {
    const { f, history, after } = setup();
    f.requests.labels(...M, 'ok').inc(1);
    history.sample();
    f.requests.labels(...M, 'ok').inc(10);
    after(5);
    f.requests.labels('m2', 'v1', 'search', 'ok').inc(3);
    after(5);

    expect(row(history).history.qps).toEqual([2, 0]);
    expect(row(history, 'm2').history.qps).toEqual([0, 0.6]);
    expect(row(history, 'm2').qps).toBeCloseTo(0.3, 12);
    expect(history.report().models.map((r) => r.model)).toEqual(['m', 'm2']);
  });

  it('keeps only the last `points` readings', () => {
    const { f, history, after } = setup({ points: 3 });
    history.sample();
    for (let i = 1; i <= 5; i++) {
      f.requests.labels(...M, 'ok').inc(i);
      after(5);
    }
    const r = row(history);
    expect(r.history.qps).toEqual([0.6, 0.8, 1]);
    expect(history.report().windowSeconds).toBe(15);
    expect(r.qps).toBeCloseTo(12 / 15, 12);
  });

  it('takes a counter that went down as started again', () => {
    const { f, history, after } = setup();
    const ok = f.requests.labels(...M, 'ok');
    ok.inc(10);
    const latency = f.duration.labels(...M);
    latency.observe(0.3);
    latency.observe(0.3);
    history.sample();

    ok.value = 4;
    latency.counts.fill(0);
    latency.count = 0;
    latency.observe(0.02);
    after(5);
    expect(row(history).qps).toBeCloseTo(0.8, 12);
    // Only the new observation, in (0.01, 0.025]: its middle for p50.
    expect(row(history).latencyP50Seconds).toBeCloseTo(0.0175, 12);
  });

  it('skips an interval when the clock steps back', () => {
    const { clock, f, history, after } = setup();
    history.sample();
    clock.ms -= 1000;
    f.requests.labels(...M, 'ok').inc(7);
    history.sample();
    expect(history.report().windowSeconds).toBe(0);
    f.requests.labels(...M, 'ok').inc(5);
    after(5);
    // The 7 fell in the skipped interval; the 5 came after it.
    expect(row(history).history.qps).toEqual([1]);
  });

  it('keeps the host gauges with each reading', () => {
    const { store, history, after } = setup();
    history.sample();
    after(5);
    expect(history.report().host.cpuUtilization).toEqual([null]);

    store.gauge(defs.host.cpuUtilization).labels().set(0.25);
    store.gauge(defs.host.memoryUtilization).labels().set(0.5);
    const receive = store.gauge(defs.host.networkReceiveRate);
    receive.labels('eth0').set(100);
    receive.labels('eth1').set(50);
    store.gauge(defs.host.networkTransmitRate).labels('eth0').set(7);
    after(5);

    const host = history.report().host;
    expect(host.cpuUtilization).toEqual([null, 0.25]);
    expect(host.memoryUtilization).toEqual([null, 0.5]);
    expect(host.networkReceiveBytesPerSecond).toEqual([null, 150]);
    expect(host.networkTransmitBytesPerSecond).toEqual([null, 7]);
  });

  it('samples on its timer from start until stop', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const store = new MetricStore();
    const requests = store.counter(defs.serving.requests);
    const history = new StatusHistory(store, { now: () => Date.now() });
    history.start();
    requests.labels(...M, 'ok').inc(20);
    vi.advanceTimersByTime(5000);
    expect(history.report().models[0]!.qps).toBe(4);

    history.stop();
    vi.advanceTimersByTime(20_000);
    expect(history.report().windowSeconds).toBe(5);
  });

  it('reports a failed reading to onError instead of throwing', () => {
    const failing = {
      get: () => {
        throw new Error('store unreadable');
      },
    } as unknown as MetricStore;
    const errors: unknown[] = [];
    const history = new StatusHistory(failing, {
      onError: (e) => errors.push(e),
    });
    expect(() => history.start()).not.toThrow();
    history.stop();
    expect(String(errors[0])).toContain('store unreadable');
  });

  it('refuses bad options, naming them', () => {
    const store = new MetricStore();
    expect(() => new StatusHistory(store, { intervalSeconds: 0 })).toThrow(
      /intervalSeconds must be a number > 0, got 0/,
    );
    expect(() => new StatusHistory(store, { points: 1.5 })).toThrow(
      /points.*got 1.5/,
    );
  });
});

describe('readHost and readProbes', () => {
  it('answers null for host gauges nobody set', () => {
    expect(readHost(new MetricStore())).toEqual({
      cpuUtilization: null,
      memoryUsedBytes: null,
      memoryTotalBytes: null,
      memoryUtilization: null,
      networkReceiveBytesPerSecond: null,
      networkTransmitBytesPerSecond: null,
    });
  });

  it('reads inference_probe_up by target when a prober registered it', () => {
    const store = new MetricStore();
    expect(readProbes(store)).toEqual([]);
    const probeUp = store.gauge({
      name: 'inference_probe_up',
      type: 'gauge',
      help: 'Whether the last probe of a target succeeded.',
      labels: ['target'],
    });
    probeUp.labels('http://b:8080/health').set(1);
    probeUp.labels('http://a:8080/health').set(0);
    expect(readProbes(store)).toEqual([
      { target: 'http://a:8080/health', up: false },
      { target: 'http://b:8080/health', up: true },
    ]);
  });
});

afterEach(() => {
  vi.useRealTimers();
});
