/**
 * The status page in a real browser: Debian's headless Chromium, driven
 * with playwright-core, against the router on 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import * as defs from '../../src/metrics/definitions.js';
import type { StatusReport } from '../../src/server/status.js';
import { failedLine, liveStore, replayLines, serve } from './status-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A model name that would run script if the page ever used it as markup. */
const HOSTILE_MODEL = '<img src=x onerror="window.__injected=1">&amp;';

/** How the page should print each figure, written out again here. */
const FORMATS: Record<string, (v: number) => string> = {
  qps: (v) => v.toFixed(2),
  latencyP50Seconds: (v) => `${(v * 1000).toFixed(1)} ms`,
  latencyP99Seconds: (v) => `${(v * 1000).toFixed(1)} ms`,
  errorRatio: (v) => `${(v * 100).toFixed(1)} %`,
  precision: (v) => `${(v * 100).toFixed(1)} %`,
  recall: (v) => `${(v * 100).toFixed(1)} %`,
  f1: (v) => `${(v * 100).toFixed(1)} %`,
};

interface ShownRow {
  model: string;
  version: string;
  scene: string;
  sceneText: string;
  cells: Record<string, string>;
  paths: Record<string, string | null>;
}

/** The model rows as the browser shows them. */
function shownRows(page: Page): Promise<ShownRow[]> {
  return page.$$eval('tr[data-model]', (trs) =>
    trs.map((tr) => ({
      model: tr.getAttribute('data-model') ?? '',
      version: tr.getAttribute('data-version') ?? '',
      scene: tr.getAttribute('data-scene') ?? '',
      sceneText: tr.querySelector('th')?.textContent ?? '',
      cells: Object.fromEntries(
        [...tr.querySelectorAll('td[data-field]')].map((td) => [
          td.getAttribute('data-field'),
          td.textContent,
        ]),
      ),
      paths: Object.fromEntries(
        [...tr.querySelectorAll('td[data-trend]')].map((td) => [
          td.getAttribute('data-trend'),
          td.querySelector('svg path')?.getAttribute('d') ?? null,
        ]),
      ),
    })),
  );
}

/** Every row shows the JSON's figures, printed as FORMATS says. */
function expectRowsMatch(rows: ShownRow[], status: StatusReport): void {
  expect(rows).toHaveLength(status.models.length);
  status.models.forEach((model, i) => {
    const row = rows[i]!;
    expect([row.model, row.version, row.scene]).toEqual([
      model.model,
      model.version,
      model.scene,
    ]);
    expect(row.sceneText).toBe(model.scene);
    for (const [field, format] of Object.entries(FORMATS)) {
      const value = model[field as keyof typeof model] as number | null;
      expect(row.cells[field], `${model.model} ${field}`).toBe(
        value === null ? 'n/a' : format(value),
      );
    }
  });
}

describe.skipIf(!existsSync(CHROMIUM))(
  `status page in headless Chromium (skipped without ${CHROMIUM}, from Debian package chromium)`,
  () => {
    const live = liveStore();
    let server: Awaited<ReturnType<typeof serve>>;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];
    let later: string[];

    const status = async () =>
      (await (
        await fetch(`${server.base}/exporter/api/v1/status`)
      ).json()) as StatusReport;

    beforeAll(async () => {
      const lines = await replayLines(60);
      const third = Math.floor(lines.length / 3);
      live.history.sample();
      live.feed(lines.slice(0, third));
      live.after(5);
      live.feed(lines.slice(third, 2 * third));
      live.after(5);
      later = [
        ...lines.slice(2 * third),
        failedLine(1, 'error', 730, '2010-12-02T23:00:00.000Z'),
        failedLine(2, 'timeout', 5000, '2010-12-02T23:00:00.000Z'),
        JSON.stringify({
          model: HOSTILE_MODEL,
          model_version: 'v"2',
          scene: 'home',
          latency_ms: 12,
        }),
      ];

      const store = live.store;
      store.gauge(defs.host.cpuUtilization).labels().set(0.375);
      store
        .gauge(defs.host.memoryUsed)
        .labels()
        .set(3 * 2 ** 30);
      store
        .gauge(defs.host.memoryTotal)
        .labels()
        .set(8 * 2 ** 30);
      store.gauge(defs.host.memoryUtilization).labels().set(0.4);
      store.gauge(defs.host.networkReceiveRate).labels('eth0').set(2048);
      store.gauge(defs.host.networkTransmitRate).labels('eth0').set(512);
      const probeUp = store.gauge({
        name: 'inference_probe_up',
        type: 'gauge',
        help: 'Whether the last probe of a target succeeded.',
        labels: ['target'],
      });
      probeUp.labels('model-a').set(1);
      probeUp.labels('model-b').set(0);

      server = await serve(
        {
          store,
          history: live.history,
          version: '0.1.0',
          telemetryPath: '/metrics',
          refreshSeconds: 0.5,
          now: () => live.clock.ms,
        },
        '/exporter',
      );
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
      });
      page = await browser.newPage();
      page.on('pageerror', (err) => pageErrors.push(String(err)));
      page.on('console', (msg) => {
        if (msg.type() === 'error') pageErrors.push(msg.text());
      });
      await page.goto(`${server.base}/exporter/`);
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    it('shows a row per model with the numbers of the JSON', async () => {
      await page.waitForSelector('tr[data-model]');
      expectRowsMatch(await shownRows(page), await status());
      const captions = await page.$$eval('#models caption', (cs) =>
        cs.map((c) => c.textContent),
      );
      expect(captions).toEqual([
        'Model cooccurrence, version v1',
        'Model popularity, version v1',
      ]);
      expect(await page.getAttribute('#live', 'aria-live')).toBe('polite');
      expect(await page.getAttribute('#live', 'aria-busy')).toBe('false');
      expect(
        await page.$$eval('#models thead th[scope="col"]', (ths) => ths.length),
      ).toBe(22);
    });

    it('draws the sparklines as SVG paths through every reading', async () => {
      const rows = await shownRows(page);
      for (const row of rows) {
        // Two readings: a move to the first point, a line to the second.
        expect(row.paths.qps).toMatch(/^M[\d.]+ [\d.]+ h0 L[\d.]+ [\d.]+$/);
        expect(row.paths.p99).toMatch(/^M/);
      }
      const labels = await page.$$eval('td[data-trend="qps"] svg', (svgs) =>
        svgs.map(
          (s) => `${s.getAttribute('role')}: ${s.getAttribute('aria-label')}`,
        ),
      );
      expect(labels[0]).toMatch(
        /^img: Requests per second over 2 readings: latest \d+\.\d\d, highest/,
      );
    });

    it('shows host resources and probe state in words', async () => {
      const host = await page.$$eval('#host td[data-field]', (tds) =>
        tds.map((td) => td.textContent),
      );
      expect(host).toEqual([
        '37.5 %',
        '3.0 GiB of 8.0 GiB (40.0 %)',
        '2.0 KiB/s',
        '512 B/s',
      ]);
      const probes = await page.$$eval('#probes tbody tr', (trs) =>
        trs.map((tr) => tr.textContent),
      );
      expect(probes).toEqual(['model-aup', 'model-bDOWN']);
      const links = await page.$$eval('nav a', (as) =>
        as.map((a) => (a as HTMLAnchorElement).href),
      );
      expect(links).toEqual([
        `${server.base}/exporter/metrics`,
        `${server.base}/exporter/-/healthy`,
        `${server.base}/exporter/-/ready`,
        `${server.base}/exporter/api/v1/status`,
      ]);
    });

    it('refreshes on its own when new lines arrive, showing hostile names as text', async () => {
      const before = await shownRows(page);
      live.feed(later);
      live.after(5);
      const now = await status();
      expect(now.models).toHaveLength(before.length + 1);

      await page.waitForFunction(
        (n) => document.querySelectorAll('tr[data-model]').length === n,
        now.models.length,
        {
          timeout: 5000,
        },
      );
      const after = await shownRows(page);
      expectRowsMatch(after, now);
      const popularity = (rows: ShownRow[]) =>
        rows.find((r) => r.model === 'popularity' && r.scene === 'recommend')!;
      expect(popularity(after).cells.errorRatio).not.toBe(
        popularity(before).cells.errorRatio,
      );
      expect(popularity(after).cells.qps).not.toBe(
        popularity(before).cells.qps,
      );

      const hostile = after.find((r) => r.model === HOSTILE_MODEL)!;
      expect(hostile.version).toBe('v"2');
      const caption = await page.$$eval('#models caption', (cs) =>
        cs.map((c) => c.textContent),
      );
      expect(caption).toContain(`Model ${HOSTILE_MODEL}, version v"2`);
      expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
      expect(
        await page.evaluate(
          () => (window as unknown as { __injected?: number }).__injected,
        ),
      ).toBeUndefined();
      expect(pageErrors).toEqual([]);
    });

    it('keeps the last figures and says so when a refresh fails', async () => {
      const report = vi.spyOn(live.history, 'report').mockImplementation(() => {
        throw new Error('history unavailable');
      });
      try {
        await page.waitForFunction(
          () =>
            document
              .getElementById('updated')
              ?.textContent?.startsWith('Could not'),
          null,
          {
            timeout: 5000,
          },
        );
        expect(await page.textContent('#updated')).toBe(
          'Could not refresh the figures (HTTP 500); the last ones received stay shown.',
        );
        expect(await page.$$eval('tr[data-model]', (trs) => trs.length)).toBe(
          4,
        );
      } finally {
        report.mockRestore();
      }
    });

    it('shows the links and a note with JavaScript off', async () => {
      const context = await browser.newContext({ javaScriptEnabled: false });
      try {
        const plain = await context.newPage();
        await plain.goto(`${server.base}/exporter/`);
        expect(
          await plain.$$eval('nav a', (as) => as.map((a) => a.textContent)),
        ).toEqual(['Metrics', 'Health', 'Readiness', 'Status as JSON']);
        expect(
          await plain
            .getByText(/live figures on this page need JavaScript/)
            .isVisible(),
        ).toBe(true);
        expect(await plain.isVisible('#live')).toBe(false);
      } finally {
        await context.close();
      }
    });
  },
);
