/**
 * The overview dashboard: traffic, errors, latency and quality for every
 * model and version, host resources, the alerts firing now, and, folded
 * away, the model server's own latency and queue metrics.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { host } from '../../metrics/definitions.js';
import type { BundleConfig } from '../config.js';
import { series } from '../promql.js';
import { recorded } from '../recording.js';
import { nativeMetricsRow } from './native.js';
import {
  INSTANCE_FILTER,
  MODEL_FILTER,
  baseDashboard,
  withModelVariables,
  numberPanels,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from './panels.js';

/** Fixed uid, so links and bookmarks survive regeneration. */
export const OVERVIEW_UID = 'inference-overview';

const HALF = { w: 12, h: 8 };
const THIRD = { w: 8, h: 8 };
const QUARTER = { w: 6, h: 4 };
const VERSION_LEGEND = '{{model}} {{version}} {{scene}}';

/** The overview dashboard as Grafana JSON model. */
export function overviewDashboard(config: BundleConfig): dashboard.Dashboard {
  const builder = withModelVariables(
    baseDashboard(
      config,
      'Inference overview',
      OVERVIEW_UID,
      'Traffic, latency, errors and recommendation quality of every model, with host resources.',
    ),
    config,
    true,
  ).link(
    new dashboard.DashboardLinkBuilder('Inference dashboards')
      .type(dashboard.DashboardLinkType.Dashboards)
      .tags(config.dashboardTags)
      .asDropdown(true)
      .includeVars(true)
      .keepTime(true),
  );
  addSummaryRow(builder, config);
  addServingRow(builder, config);
  addQualityRow(builder, config);
  addHostRow(builder, config);
  addAlertsRow(builder);
  builder.withRow(nativeMetricsRow(config));
  return numberPanels(builder.build());
}

function addSummaryRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const w = c.alertWindow;
  b.withRow(new dashboard.RowBuilder('Summary'));
  b.withPanel(
    statPanel(
      'Total requests per second',
      'reqps',
      {
        expr: `sum(${series(recorded.requestRate(w), MODEL_FILTER)})`,
        legend: 'requests',
      },
      QUARTER,
    ),
  );
  b.withPanel(
    statPanel(
      'Worst error ratio',
      'percentunit',
      {
        expr: `max(${series(recorded.errorRatio(w), MODEL_FILTER)})`,
        legend: 'error ratio',
      },
      QUARTER,
    ),
  );
  b.withPanel(
    statPanel(
      'Worst p99 latency',
      's',
      {
        expr: `max(${series(recorded.latency('p99', w), MODEL_FILTER)})`,
        legend: 'p99',
      },
      QUARTER,
    ),
  );
  b.withPanel(
    statPanel(
      'Alerts firing now',
      'none',
      {
        expr: 'count(ALERTS{alertstate="firing"}) or vector(0)',
        legend: 'firing',
      },
      QUARTER,
    ),
  );
}

function addServingRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const w = c.alertWindow;
  const latency = (q: 'p50' | 'p95' | 'p99') => ({
    expr: series(recorded.latency(q, w), MODEL_FILTER),
    legend: `${q} ${VERSION_LEGEND}`,
  });
  b.withRow(new dashboard.RowBuilder('Serving'));
  b.withPanel(
    timeseriesPanel(
      'Requests per second',
      'reqps',
      [
        {
          expr: series(recorded.requestRate(w), MODEL_FILTER),
          legend: VERSION_LEGEND,
        },
      ],
      THIRD,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Error ratio',
      'percentunit',
      [
        {
          expr: series(recorded.errorRatio(w), MODEL_FILTER),
          legend: VERSION_LEGEND,
        },
      ],
      THIRD,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Latency p50 / p95 / p99',
      's',
      [latency('p50'), latency('p95'), latency('p99')],
      THIRD,
    ),
  );
}

function addQualityRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const w = c.alertWindow;
  const ratio = (name: string) => [
    { expr: series(name, MODEL_FILTER), legend: VERSION_LEGEND },
  ];
  const atK = (name: string) => [
    { expr: series(name, MODEL_FILTER), legend: `@{{k}} ${VERSION_LEGEND}` },
  ];
  b.withRow(new dashboard.RowBuilder('Recommendation quality'));
  b.withPanel(
    timeseriesPanel(
      'Precision',
      'percentunit',
      ratio(recorded.precision(w)),
      THIRD,
    ),
  );
  b.withPanel(
    timeseriesPanel('Recall', 'percentunit', ratio(recorded.recall(w)), THIRD),
  );
  b.withPanel(
    timeseriesPanel('F1', 'percentunit', ratio(recorded.f1(w)), THIRD),
  );
  b.withPanel(
    timeseriesPanel('NDCG@k', 'percentunit', atK(recorded.ndcgAtK(w)), HALF),
  );
  b.withPanel(
    timeseriesPanel(
      'Hit rate@k',
      'percentunit',
      atK(recorded.hitRateAtK(w)),
      HALF,
    ),
  );
}

function addHostRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const sel = c.exporterSelector;
  const perInstance = (def: typeof host.cpuUtilization) => [
    { expr: series(def, sel, INSTANCE_FILTER), legend: '{{instance}}' },
  ];
  const network = (def: typeof host.networkReceive, direction: string) => ({
    expr: `rate(${series(def, sel, INSTANCE_FILTER)}[$__rate_interval])`,
    legend: `${direction} {{instance}} {{device}}`,
  });
  b.withRow(new dashboard.RowBuilder('Host'));
  b.withPanel(
    timeseriesPanel(
      'CPU utilisation',
      'percentunit',
      perInstance(host.cpuUtilization),
      THIRD,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Memory utilisation',
      'percentunit',
      perInstance(host.memoryUtilization),
      THIRD,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Network',
      'Bps',
      [
        network(host.networkReceive, 'receive'),
        network(host.networkTransmit, 'transmit'),
      ],
      THIRD,
    ),
  );
}

function addAlertsRow(b: dashboard.DashboardBuilder): void {
  b.withRow(new dashboard.RowBuilder('Alerts'));
  b.withPanel(
    tablePanel(
      'Firing alerts',
      { expr: 'ALERTS{alertstate="firing"}', legend: '{{alertname}}' },
      { w: 24, h: 8 },
    ),
  );
}
