/**
 * The collapsed "Model server (native metrics)" row: latency, queue and
 * load from the model server's own /metrics, for Triton, TorchServe and
 * vLLM. Names come from `modelServerMetrics` in the bundle config; every
 * query selects the model server's scrape job, so a server's panels stay
 * empty where that server does not run.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { BundleConfig, ModelServerMetrics } from '../config.js';
import { series, sumBy } from '../promql.js';
import { timeseriesPanel, type Query, type Size } from './panels.js';

/** Title of the row, so tests and links can find it. */
export const NATIVE_ROW_TITLE = 'Model server (native metrics)';

const THIRD: Size = { w: 8, h: 8 };
const HALF: Size = { w: 12, h: 8 };
const QUANTILES = [0.5, 0.95, 0.99] as const;

/** Builds PromQL over one scrape job's series. */
function onJob(config: BundleConfig) {
  const job = `job="${config.modelServerJob}"`;
  const rate = (name: string) => `rate(${series(name, job)}[$__rate_interval])`;
  return {
    gauge: (name: string, by: string[]) => sumBy(by, series(name, job)),
    rate: (name: string, by: string[]) => sumBy(by, rate(name)),
    /** Mean seconds per request from a microsecond sum and a request count. */
    meanSeconds: (micros: string, requests: string, by: string[]) =>
      `${sumBy(by, rate(micros))} / ${sumBy(by, rate(requests))} / 1e6`,
  };
}

/** The row, collapsed, with every native panel inside it. */
export function nativeMetricsRow(config: BundleConfig): dashboard.RowBuilder {
  const row = new dashboard.RowBuilder(NATIVE_ROW_TITLE);
  const m = config.modelServerMetrics;
  for (const panel of [
    ...tritonPanels(config, m),
    ...torchservePanels(config, m),
    ...vllmPanels(config, m),
  ]) {
    row.withPanel(panel);
  }
  return row.collapsed(true);
}

function tritonPanels(config: BundleConfig, m: ModelServerMetrics) {
  const q = onJob(config);
  const by = ['model', 'version'];
  const legend = (what: string) => `${what} {{model}} {{version}}`;
  // Triton's docs pair both duration sums with the success count.
  const mean = (micros: string, what: string): Query => ({
    expr: q.meanSeconds(micros, m.tritonRequestSuccess, by),
    legend: legend(what),
  });
  return [
    timeseriesPanel(
      'Triton mean request and queue time',
      's',
      [
        mean(m.tritonRequestDurationMicroseconds, 'request'),
        mean(m.tritonQueueDurationMicroseconds, 'queue'),
      ],
      THIRD,
    ),
    timeseriesPanel(
      'Triton requests per second',
      'reqps',
      [
        { expr: q.rate(m.tritonRequestSuccess, by), legend: legend('success') },
        { expr: q.rate(m.tritonRequestFailure, by), legend: legend('failure') },
      ],
      THIRD,
    ),
    timeseriesPanel(
      'Triton pending requests',
      'short',
      [
        {
          expr: q.gauge(m.tritonPendingRequests, by),
          legend: legend('pending'),
        },
      ],
      THIRD,
    ),
  ];
}

function torchservePanels(config: BundleConfig, m: ModelServerMetrics) {
  const q = onJob(config);
  const by = ['model_name', 'model_version'];
  const legend = (what: string) => `${what} {{model_name}} {{model_version}}`;
  const mean = (micros: string, what: string): Query => ({
    expr: q.meanSeconds(micros, m.torchserveRequests, by),
    legend: legend(what),
  });
  return [
    timeseriesPanel(
      'TorchServe mean inference and queue latency',
      's',
      [
        mean(m.torchserveInferenceLatencyMicroseconds, 'inference'),
        mean(m.torchserveQueueLatencyMicroseconds, 'queue'),
      ],
      HALF,
    ),
    timeseriesPanel(
      'TorchServe requests per second',
      'reqps',
      [{ expr: q.rate(m.torchserveRequests, by), legend: legend('requests') }],
      HALF,
    ),
  ];
}

function vllmPanels(config: BundleConfig, m: ModelServerMetrics) {
  const q = onJob(config);
  const buckets = q.rate(`${m.vllmE2eRequestLatencySeconds}_bucket`, [
    'le',
    'model_name',
  ]);
  const quantile = (p: number): Query => ({
    expr: `histogram_quantile(${p}, ${buckets})`,
    legend: `p${Math.round(p * 100)} {{model_name}}`,
  });
  const gauge = (name: string, what: string): Query => ({
    expr: q.gauge(name, ['model_name']),
    legend: `${what} {{model_name}}`,
  });
  const finished: Query = {
    expr: q.rate(m.vllmRequestSuccess, ['model_name', 'finished_reason']),
    legend: '{{finished_reason}} {{model_name}}',
  };
  return [
    timeseriesPanel(
      'vLLM end-to-end latency p50 / p95 / p99',
      's',
      QUANTILES.map(quantile),
      THIRD,
    ),
    timeseriesPanel(
      'vLLM requests running and waiting',
      'short',
      [
        gauge(m.vllmRequestsRunning, 'running'),
        gauge(m.vllmRequestsWaiting, 'waiting'),
      ],
      THIRD,
    ),
    timeseriesPanel(
      'vLLM finished requests by reason',
      'reqps',
      [finished],
      THIRD,
    ),
  ];
}
