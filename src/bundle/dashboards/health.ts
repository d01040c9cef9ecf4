/**
 * The exporter's own health: the model-server probe, log ingestion, the
 * attribution join that feeds the quality metrics, GPUs, and remediation
 * decisions. The first look when the other dashboards go quiet or odd.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  attribution,
  gpu,
  ingest,
  limits,
  probe,
  remediation,
  type MetricDefinition,
} from '../../metrics/definitions.js';
import type { BundleConfig } from '../config.js';
import { series, sumBy } from '../promql.js';
import {
  INSTANCE_FILTER,
  baseDashboard,
  instanceVariable,
  numberPanels,
  timeseriesPanel,
  type Query,
  type Size,
} from './panels.js';

/** Fixed uid, so links and bookmarks survive regeneration. */
export const HEALTH_UID = 'inference-exporter-health';

const HALF: Size = { w: 12, h: 8 };
const THIRD: Size = { w: 8, h: 8 };
const GPU_LEGEND = '{{instance}} GPU {{gpu}}';

/** The exporter health dashboard as Grafana JSON model. */
export function healthDashboard(config: BundleConfig): dashboard.Dashboard {
  const builder = baseDashboard(
    config,
    'Inference exporter health',
    HEALTH_UID,
    'The exporter itself: model-server probe, log ingestion, attribution join, GPUs and remediation decisions.',
  ).withVariable(instanceVariable(config));
  addProbeRow(builder, config);
  addIngestionRow(builder, config);
  addAttributionRow(builder, config);
  addGpuRow(builder, config);
  addRemediationRow(builder, config);
  return numberPanels(builder.build());
}

/** PromQL over the exporter's series on the selected instances. */
function exporterQueries(config: BundleConfig) {
  const of = (def: MetricDefinition | string, ...extra: string[]) =>
    series(def, config.exporterSelector, INSTANCE_FILTER, ...extra);
  const rate = (def: MetricDefinition, ...extra: string[]) =>
    `rate(${of(def, ...extra)}[$__rate_interval])`;
  return {
    of,
    rate,
    /** A counter's rate summed by `labels`, legend naming them. */
    rateBy: (def: MetricDefinition, labels: string[]): Query => ({
      expr: sumBy(labels, rate(def)),
      legend: labels.map((l) => `{{${l}}}`).join(' '),
    }),
  };
}

/** Adds a time series panel; shorter than spelling out the builder. */
function adder(b: dashboard.DashboardBuilder) {
  return (title: string, unit: string, queries: Query[], size: Size) =>
    b.withPanel(timeseriesPanel(title, unit, queries, size));
}

function addProbeRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const q = exporterQueries(c);
  const add = adder(b);
  const perTarget = (def: MetricDefinition | string): Query[] => [
    { expr: q.of(def), legend: '{{target}} via {{instance}}' },
  ];
  b.withRow(new dashboard.RowBuilder('Model-server probe'));
  add('Model server up (probe)', 'none', perTarget(c.probeUpMetric), HALF);
  add('Probe duration', 's', perTarget(probe.duration), HALF);
  add(
    'Probe failures by reason',
    'ops',
    [q.rateBy(probe.failures, ['target', 'reason'])],
    HALF,
  );
  add(
    'Health response fields',
    'none',
    [{ expr: q.of(probe.field), legend: '{{target}} {{field}}' }],
    HALF,
  );
}

function addIngestionRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const q = exporterQueries(c);
  const add = adder(b);
  const perInstance = (expr: string): Query[] => [
    { expr, legend: '{{instance}}' },
  ];
  const lines = sumBy(['instance'], q.rate(ingest.lines));
  const malformed = sumBy(
    ['instance'],
    q.rate(ingest.lines, 'result="malformed"'),
  );
  b.withRow(new dashboard.RowBuilder('Log ingestion'));
  add(
    'Input lines per second by result and reason',
    'ops',
    [q.rateBy(ingest.lines, ['result', 'reason'])],
    THIRD,
  );
  // Without the `or`, an exporter that never saw a malformed line would
  // show "no data" instead of 0.
  add(
    'Malformed line ratio',
    'percentunit',
    perInstance(`(${malformed} or ${lines} * 0) / ${lines}`),
    THIRD,
  );
  add(
    'Bytes read per second',
    'Bps',
    perInstance(sumBy(['instance'], q.rate(ingest.bytes))),
    THIRD,
  );
  // Rotations are rare: the count since start reads better than a rate.
  add(
    'Log rotations since start',
    'short',
    [
      {
        expr: sumBy(['instance', 'kind'], q.of(ingest.rotations)),
        legend: '{{instance}} {{kind}}',
      },
    ],
    THIRD,
  );
  add(
    'Tail and positions errors by operation',
    'ops',
    [q.rateBy(ingest.errors, ['instance', 'operation'])],
    THIRD,
  );
  add(
    'Seconds since the last log line',
    's',
    perInstance(`time() - ${q.of(ingest.lastLine)}`),
    THIRD,
  );
}

function addAttributionRow(
  b: dashboard.DashboardBuilder,
  c: BundleConfig,
): void {
  const q = exporterQueries(c);
  const add = adder(b);
  b.withRow(new dashboard.RowBuilder('Attribution join'));
  add(
    'Feedback by attribution',
    'ops',
    [q.rateBy(attribution.feedback, ['attribution'])],
    HALF,
  );
  add(
    'Lists waiting for feedback',
    'short',
    [{ expr: q.of(attribution.pending), legend: '{{instance}}' }],
    HALF,
  );
  add(
    'Lists evicted from the join by reason',
    'ops',
    [q.rateBy(attribution.evictions, ['reason'])],
    HALF,
  );
  add(
    'Events with folded label values by limit',
    'ops',
    [q.rateBy(limits.folded, ['limit'])],
    HALF,
  );
}

function addGpuRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const q = exporterQueries(c);
  const add = adder(b);
  const perGpu = (def: MetricDefinition, prefix = ''): Query => ({
    expr: q.of(def),
    legend: `${prefix}${GPU_LEGEND}`,
  });
  b.withRow(new dashboard.RowBuilder('GPU'));
  add('GPU utilisation', 'percentunit', [perGpu(gpu.utilization)], THIRD);
  add(
    'GPU memory',
    'bytes',
    [perGpu(gpu.memoryUsed, 'used '), perGpu(gpu.memoryTotal, 'total ')],
    THIRD,
  );
  add('GPU power', 'watt', [perGpu(gpu.power)], THIRD);
}

function addRemediationRow(
  b: dashboard.DashboardBuilder,
  c: BundleConfig,
): void {
  const q = exporterQueries(c);
  b.withRow(new dashboard.RowBuilder('Remediation'));
  // Decisions are rare: the count since start reads better than a rate.
  const decisions = sumBy(['rule', 'decision'], q.of(remediation.decisions));
  adder(b)(
    'Remediation decisions by rule and decision',
    'short',
    [{ expr: decisions, legend: '{{rule}} {{decision}}' }],
    { w: 24, h: 8 },
  );
}
