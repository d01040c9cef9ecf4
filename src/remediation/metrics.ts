/**
 * The remediation receiver's own metrics: one counter of decisions and one
 * histogram of how long actions ran. Both are labelled by rule only, so
 * their cardinality is fixed by the configuration, never by the alerts.
 */
import { remediation } from '../metrics/definitions.js';
import type {
  CounterFamily,
  HistogramFamily,
  MetricStore,
} from '../metrics/store.js';

/** Every decision the receiver can take about one alert. */
export const DECISIONS = [
  'run',
  'dry_run',
  'skipped_cooldown',
  'skipped_rate_limit',
  'skipped_resolved',
  'no_rule',
  'failed',
] as const;

export type Decision = (typeof DECISIONS)[number];

/** The `rule` label value of alerts that matched no rule. */
export const NO_RULE = 'none';

/** The receiver's metrics, as defined in definitions.ts. */
export const remediationMetrics = remediation;

/**
 * Bounds in seconds: a failover call takes well under a second, a
 * container restart ten seconds or more, and command timeouts cap at two
 * minutes by default.
 */
export const ACTION_DURATION_BUCKETS_SECONDS = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
] as const;

/** The registered families the receiver writes to. */
export interface RemediationFamilies {
  decisions: CounterFamily;
  actionDuration: HistogramFamily;
}

/**
 * Registers both families and creates a zero child for every rule and
 * decision, so that `rate()` and `increase()` see a series from the start.
 */
export function registerRemediationMetrics(
  store: MetricStore,
  ruleNames: readonly string[],
): RemediationFamilies {
  const decisions = store.counter(remediationMetrics.decisions);
  const actionDuration = store.histogram(
    remediationMetrics.actionDuration,
    ACTION_DURATION_BUCKETS_SECONDS,
  );
  for (const rule of ruleNames) {
    for (const decision of DECISIONS) {
      if (decision !== 'no_rule') decisions.labels(rule, decision);
    }
  }
  decisions.labels(NO_RULE, 'no_rule');
  return { decisions, actionDuration };
}
