/**
 * The drill-down dashboard for one model: outcomes, latency and quality by
 * version and scene, quality at each cut-off k, and the feedback join and
 * log ingestion that feed it.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { attribution, ingest, serving } from '../../metrics/definitions.js';
import type { BundleConfig } from '../config.js';
import { series, sumBy } from '../promql.js';
import { recorded } from '../recording.js';
import {
  INSTANCE_FILTER,
  MODEL_FILTER,
  baseDashboard,
  withModelVariables,
  numberPanels,
  timeseriesPanel,
  type Query,
} from './panels.js';

/** Fixed uid, so links and bookmarks survive regeneration. */
export const MODEL_UID = 'inference-model';

const HALF = { w: 12, h: 8 };
const SCENE_LEGEND = '{{version}} {{scene}}';

/** The per-model dashboard as Grafana JSON model. */
export function modelDashboard(config: BundleConfig): dashboard.Dashboard {
  const builder = withModelVariables(
    baseDashboard(
      config,
      'Inference model',
      MODEL_UID,
      'One model by version and scene: outcomes, latency, quality at k, feedback and ingestion.',
    ),
    config,
    false,
  );
  addServingRow(builder, config);
  addQualityRow(builder, config);
  addFeedbackRow(builder, config);
  return numberPanels(builder.build());
}

function recordedQuery(name: string, legend = SCENE_LEGEND): Query[] {
  return [{ expr: series(name, MODEL_FILTER), legend }];
}

function addServingRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const w = c.alertWindow;
  const raw = (def: typeof serving.requests) =>
    `rate(${series(def, c.exporterSelector, MODEL_FILTER)}[$__rate_interval])`;
  const byVersion = (def: typeof serving.requests) =>
    sumBy(['version'], raw(def));
  const latency = (q: 'p50' | 'p95' | 'p99') =>
    recordedQuery(recorded.latency(q, w), `${q} ${SCENE_LEGEND}`)[0]!;
  b.withRow(new dashboard.RowBuilder('Serving'));
  b.withPanel(
    timeseriesPanel(
      'Requests by outcome',
      'reqps',
      [
        {
          expr: sumBy(['version', 'outcome'], raw(serving.requests)),
          legend: '{{version}} {{outcome}}',
        },
      ],
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Error ratio',
      'percentunit',
      recordedQuery(recorded.errorRatio(w)),
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Latency p50 / p95 / p99',
      's',
      [latency('p50'), latency('p95'), latency('p99')],
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Items returned per request',
      'none',
      [
        {
          expr: `${byVersion(serving.returnedItems)} / ${byVersion(serving.requests)}`,
          legend: '{{version}}',
        },
      ],
      HALF,
    ),
  );
}

function addQualityRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const w = c.alertWindow;
  const atK = (name: string) => recordedQuery(name, `@{{k}} ${SCENE_LEGEND}`);
  b.withRow(new dashboard.RowBuilder('Recommendation quality'));
  b.withPanel(
    timeseriesPanel(
      'Precision',
      'percentunit',
      recordedQuery(recorded.precision(w)),
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Recall',
      'percentunit',
      recordedQuery(recorded.recall(w)),
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel('F1', 'percentunit', recordedQuery(recorded.f1(w)), HALF),
  );
  b.withPanel(
    timeseriesPanel(
      'Precision@k',
      'percentunit',
      atK(recorded.precisionAtK(w)),
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Recall@k',
      'percentunit',
      atK(recorded.recallAtK(w)),
      HALF,
    ),
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

function addFeedbackRow(b: dashboard.DashboardBuilder, c: BundleConfig): void {
  const sel = c.exporterSelector;
  const rateOf = (def: typeof ingest.lines) =>
    `rate(${series(def, sel, INSTANCE_FILTER)}[$__rate_interval])`;
  b.withRow(new dashboard.RowBuilder('Feedback and ingestion'));
  b.withPanel(
    timeseriesPanel(
      'Feedback by action and attribution',
      'ops',
      [
        {
          expr: sumBy(['action', 'attribution'], rateOf(attribution.feedback)),
          legend: '{{action}} {{attribution}}',
        },
      ],
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Lists waiting for feedback',
      'short',
      [
        {
          expr: series(attribution.pending, sel, INSTANCE_FILTER),
          legend: '{{instance}}',
        },
      ],
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Input lines by result',
      'ops',
      [
        {
          expr: sumBy(['instance', 'result', 'reason'], rateOf(ingest.lines)),
          legend: '{{instance}} {{result}} {{reason}}',
        },
      ],
      HALF,
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Seconds since the last log line',
      's',
      [
        {
          expr: `time() - ${series(ingest.lastLine, sel, INSTANCE_FILTER)}`,
          legend: '{{instance}}',
        },
      ],
      HALF,
    ),
  );
}
