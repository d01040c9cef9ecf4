/**
 * Recording rules: request rates, error ratios, latency quantiles and
 * recommendation quality per model, version and scene. Every ratio is a
 * ratio of summed counter rates, so it stays exact over many exporters.
 */
import { quality, serving } from '../metrics/definitions.js';
import type { BundleConfig } from './config.js';
import { MODEL_BY, baseName, rate, series, sumBy } from './promql.js';

export interface RecordingRule {
  record: string;
  expr: string;
}

export interface RuleGroup<R> {
  name: string;
  interval?: string;
  rules: R[];
}

const MVS = 'model_version_scene';
const K_MVS = 'k_model_version_scene';
const LE_MVS = 'le_model_version_scene';
const QUANTILES = [0.5, 0.95, 0.99] as const;

/** Latency quantiles the rules record, as `p50`, `p95`, `p99`. */
export type Quantile = 'p50' | 'p95' | 'p99';

/** Names of recorded series, by window, for alerts and dashboards. */
export const recorded = {
  requestRate: (w: string) => `${MVS}:${baseName(serving.requests)}:rate${w}`,
  errorRatio: (w: string) =>
    `${MVS}:${baseName(serving.requests)}:error_ratio_rate${w}`,
  durationBucketRate: (w: string) =>
    `${LE_MVS}:${serving.duration.name}_bucket:rate${w}`,
  latency: (q: Quantile, w: string) =>
    `${MVS}:${serving.duration.name}:${q}_rate${w}`,
  precision: (w: string) => `${MVS}:inference_quality_precision:ratio_rate${w}`,
  recall: (w: string) => `${MVS}:inference_quality_recall:ratio_rate${w}`,
  f1: (w: string) => `${MVS}:inference_quality_f1:ratio_rate${w}`,
  precisionAtK: (w: string) =>
    `${K_MVS}:inference_quality_precision_at_k:ratio_rate${w}`,
  recallAtK: (w: string) =>
    `${K_MVS}:inference_quality_recall_at_k:ratio_rate${w}`,
  ndcgAtK: (w: string) => `${K_MVS}:inference_quality_ndcg_at_k:ratio_rate${w}`,
  hitRateAtK: (w: string) =>
    `${K_MVS}:inference_quality_hit_rate_at_k:ratio_rate${w}`,
} as const;

/** One rule group per window, in the order `recordingWindows` lists them. */
export function recordingGroups(
  config: BundleConfig,
): RuleGroup<RecordingRule>[] {
  return config.recordingWindows.map((window) => ({
    name: `inference-recording-${window}`,
    rules: [...servingRules(config, window), ...qualityRules(config, window)],
  }));
}

function servingRules(config: BundleConfig, w: string): RecordingRule[] {
  const sel = config.exporterSelector;
  const requests = sumBy(MODEL_BY, rate(serving.requests, w, sel));
  const failed = sumBy(
    MODEL_BY,
    rate(serving.requests, w, sel, `outcome=~"${config.errorOutcomeRegex}"`),
  );
  const bucket = {
    ...serving.duration,
    name: `${serving.duration.name}_bucket`,
  };
  return [
    { record: recorded.requestRate(w), expr: requests },
    {
      // Without the `or` a model with no failures would record nothing
      // instead of 0, and its error panel would read "no data".
      record: recorded.errorRatio(w),
      expr: `(${failed} or ${series(recorded.requestRate(w))} * 0) / ${series(recorded.requestRate(w))}`,
    },
    {
      record: recorded.durationBucketRate(w),
      expr: sumBy(['le', ...MODEL_BY], rate(bucket, w, sel)),
    },
    ...QUANTILES.map((q) => ({
      record: recorded.latency(quantileName(q), w),
      expr: `histogram_quantile(${q}, ${recorded.durationBucketRate(w)})`,
    })),
  ];
}

/** `0.95` as `p95`. */
export function quantileName(q: number): Quantile {
  return `p${Math.round(q * 100)}` as Quantile;
}

function qualityRules(config: BundleConfig, w: string): RecordingRule[] {
  const sel = config.exporterSelector;
  const byModel = (def: (typeof quality)[keyof typeof quality]) =>
    sumBy(MODEL_BY, rate(def, w, sel));
  const byK = (def: (typeof quality)[keyof typeof quality]) =>
    sumBy(['k', ...MODEL_BY], rate(def, w, sel));
  const toModel = `on (${MODEL_BY.join(', ')}) group_left`;
  const p = recorded.precision(w);
  const r = recorded.recall(w);
  return [
    {
      record: p,
      expr: `${byModel(quality.hits)} / ${byModel(quality.recommended)}`,
    },
    {
      record: r,
      expr: `${byModel(quality.hits)} / ${byModel(quality.relevant)}`,
    },
    { record: recorded.f1(w), expr: `2 * ${p} * ${r} / (${p} + ${r})` },
    {
      record: recorded.precisionAtK(w),
      expr: `${byK(quality.hitsAtK)} / ${byK(quality.recommendedAtK)}`,
    },
    {
      record: recorded.recallAtK(w),
      expr: `${byK(quality.hitsAtK)} / ${toModel} ${byModel(quality.relevant)}`,
    },
    {
      record: recorded.ndcgAtK(w),
      expr: `${byK(quality.dcgAtK)} / ${byK(quality.idealDcgAtK)}`,
    },
    {
      record: recorded.hitRateAtK(w),
      expr: `${byK(quality.listsHitAtK)} / ${toModel} ${byModel(quality.lists)}`,
    },
  ];
}
