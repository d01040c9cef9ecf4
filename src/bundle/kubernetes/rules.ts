/**
 * The rule files as PrometheusRule objects. The groups come from the same
 * builders as prometheus/rules/*.yml, so the two cannot drift apart.
 */
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { BundleConfig } from '../config.js';
import { alertRuleFile, recordingRuleFile } from '../prometheus.js';
import { EXPORTER_APP, appLabels, metadata } from './common.js';

/** One PrometheusRule per rule file, named after it. */
export function prometheusRules(config: BundleConfig): {
  recording: PrometheusRule;
  alerts: PrometheusRule;
} {
  const labels = appLabels(EXPORTER_APP, 'rules');
  return {
    recording: new PrometheusRule({
      metadata: metadata(config, 'inference-recording', labels),
      spec: { groups: recordingRuleFile(config).groups },
    }),
    alerts: new PrometheusRule({
      metadata: metadata(config, 'inference-alerts', labels),
      spec: { groups: alertRuleFile(config).groups },
    }),
  };
}
