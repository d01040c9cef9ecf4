import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { StatusHistory } from '../../src/server/status-history.js';
import type { StatusReport } from '../../src/server/status.js';
import {
  expectedCounts,
  expectedFigures,
  failedLine,
  liveStore,
  replayLines,
  serve,
} from './status-fixture.js';

let lines: string[];

beforeAll(async () => {
  // The first 50 invoices of the bundled data, then failures of our own.
  lines = [
    ...(await replayLines(50)),
    failedLine(1, 'error', 730),
    failedLine(2, 'timeout', 5000),
    failedLine(3, 'error', 42),
  ];
});

/** Compares a figure, allowing for the sums' order of additions. */
function expectFigure(actual: number | null, expected: number | null): void {
  if (expected === null) expect(actual).toBeNull();
  else expect(actual).toBeCloseTo(expected, 9);
}

describe('GET /api/v1/status', () => {
  const live = liveStore();
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    live.history.sample();
    live.feed(lines);
    live.after(5);
    server = await serve({
      store: live.store,
      history: live.history,
      version: '0.1.0',
      telemetryPath: '/metrics',
      now: () => live.clock.ms,
    });
  });
  afterAll(() => server.close());

  it('shows, per model, the figures computed from the lines themselves', async () => {
    const res = await fetch(`${server.base}/api/v1/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as StatusReport;

    expect(body.version).toBe('0.1.0');
    expect(body.generatedAt).toBe(new Date(live.clock.ms).toISOString());
    expect(body.windowSeconds).toBe(5);

    const expected = expectedCounts(lines);
    const keys = [...expected.keys()].sort();
    expect(keys).toEqual([
      'cooccurrence|v1|recommend',
      'popularity|v1|home',
      'popularity|v1|recommend',
    ]);
    expect(
      body.models.map((m) => `${m.model}|${m.version}|${m.scene}`),
    ).toEqual(keys);
    for (const model of body.models) {
      const counts = expected.get(
        `${model.model}|${model.version}|${model.scene}`,
      )!;
      const want = expectedFigures(counts, 5);
      for (const [name, value] of Object.entries(want)) {
        expectFigure(model[name as keyof typeof want], value);
      }
      expect(model.history.qps).toHaveLength(1);
      expectFigure(model.history.qps[0]!, want.qps);
      expectFigure(model.history.p99[0]!, want.latencyP99Seconds);
      expectFigure(model.history.precision[0]!, want.precision);
    }
  });

  it('has the failures and the real quality in the figures', async () => {
    const body = (await (
      await fetch(`${server.base}/api/v1/status`)
    ).json()) as StatusReport;
    const popularity = body.models.find(
      (m) => m.model === 'popularity' && m.scene === 'recommend',
    )!;
    const c = expectedCounts(lines).get('popularity|v1|recommend')!;
    // 28 demo lists and our 3 failures.
    expect(c.requests).toBe(31);
    expect(popularity.errorRatio).toBeCloseTo(3 / 31, 12);
    // The shop's customers bought some of what was recommended.
    expect(c.hits).toBeGreaterThan(0);
    expect(popularity.precision).toBeCloseTo(c.hits / c.recommended, 12);
  });

  it('shows no probes and null host figures when nothing provides them', async () => {
    const body = (await (
      await fetch(`${server.base}/api/v1/status`)
    ).json()) as StatusReport;
    expect(body.probes).toEqual([]);
    expect(body.host).toEqual({
      cpuUtilization: null,
      memoryUsedBytes: null,
      memoryTotalBytes: null,
      memoryUtilization: null,
      networkReceiveBytesPerSecond: null,
      networkTransmitBytesPerSecond: null,
      history: {
        cpuUtilization: [null],
        memoryUtilization: [null],
        networkReceiveBytesPerSecond: [null],
        networkTransmitBytesPerSecond: [null],
      },
    });
  });

  it('lists probe state once inference_probe_up exists', async () => {
    const probeUp = live.store.gauge({
      name: 'inference_probe_up',
      type: 'gauge',
      help: 'Whether the last probe of a target succeeded.',
      labels: ['target'],
    });
    probeUp.labels('model-server').set(0);
    const body = (await (
      await fetch(`${server.base}/api/v1/status`)
    ).json()) as StatusReport;
    expect(body.probes).toEqual([{ target: 'model-server', up: false }]);
  });
});

describe('GET / (the page)', () => {
  const live = liveStore();
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    server = await serve({
      store: live.store,
      history: live.history,
      version: '0.1.0-<b>"x"</b>',
      telemetryPath: '/internal/metrics',
    });
  });
  afterAll(() => server.close());

  it('links the endpoints relatively and escapes the version', async () => {
    const res = await fetch(`${server.base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<a href="./internal/metrics">Metrics</a>');
    expect(html).toContain('<a href="./-/healthy">Health</a>');
    expect(html).toContain('<a href="./-/ready">Readiness</a>');
    expect(html).toContain('version 0.1.0-&#60;b&#62;&#34;x&#34;&#60;/b&#62;.');
    expect(html).not.toContain('<b>');
    expect(html).toMatch(/<noscript>.*JavaScript/);
    expect(html).toMatch(/<div id="live" hidden aria-live="polite"/);
    expect(html).not.toMatch(/src="http|href="http/);
  });

  it('allows exactly its own inline script and style', async () => {
    const res = await fetch(`${server.base}/`);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    const inline = (tag: string) => {
      const found = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html);
      return createHash('sha256').update(found![1]!).digest('base64');
    };
    expect(csp).toContain(`script-src 'sha256-${inline('script')}'`);
    expect(csp).toContain(`style-src 'sha256-${inline('style')}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
  });
});

describe('mounted under a prefix', () => {
  const live = liveStore();
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    live.history.sample();
    server = await serve(
      {
        store: live.store,
        history: live.history,
        version: 'v',
        telemetryPath: '/metrics',
      },
      '/exporter',
    );
  });
  afterAll(() => server.close());

  it('redirects to the trailing slash so relative links keep the prefix', async () => {
    const res = await fetch(`${server.base}/exporter`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('./exporter/');
    const page = await fetch(new URL('./exporter/', `${server.base}/exporter`));
    expect(page.status).toBe(200);
    const json = await fetch(
      new URL('./api/v1/status', `${server.base}/exporter/`),
    );
    expect(((await json.json()) as StatusReport).version).toBe('v');
  });
});

describe('a status that cannot be built', () => {
  it('answers 500 without details and reports the error', async () => {
    const live = liveStore();
    const broken = {
      intervalSeconds: 5,
      report: () => {
        throw new Error('history broken');
      },
    } as unknown as StatusHistory;
    const errors: unknown[] = [];
    const server = await serve({
      store: live.store,
      history: broken,
      version: 'v',
      telemetryPath: '/metrics',
      onError: (err) => errors.push(err),
    });
    try {
      const res = await fetch(`${server.base}/api/v1/status`);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: 'status unavailable' });
      expect(String(errors[0])).toContain('history broken');
    } finally {
      await server.close();
    }
  });
});
