/**
 * prometheus.yml and the two rule files. Scrape targets are docker-compose
 * service names; rule file paths are relative to prometheus.yml.
 */
import { alertGroups, type AlertRule } from './alerts.js';
import type { BundleConfig } from './config.js';
import {
  recordingGroups,
  type RecordingRule,
  type RuleGroup,
} from './recording.js';

/** Rule files, relative to the bundle root. */
export const RULE_FILES = {
  recording: 'prometheus/rules/inference-recording.yml',
  alerts: 'prometheus/rules/inference-alerts.yml',
} as const;

export interface RuleFile<R> {
  groups: RuleGroup<R>[];
}

/** The recording rule file's content. */
export function recordingRuleFile(
  config: BundleConfig,
): RuleFile<RecordingRule> {
  return { groups: recordingGroups(config) };
}

/** The alert rule file's content. */
export function alertRuleFile(config: BundleConfig): RuleFile<AlertRule> {
  return { groups: alertGroups(config) };
}

function staticJob(name: string, target: string, path?: string): object {
  return {
    job_name: name,
    ...(path ? { metrics_path: path } : {}),
    static_configs: [{ targets: [target] }],
  };
}

/** The Prometheus server configuration. */
export function prometheusConfig(config: BundleConfig): object {
  const underPrometheus = (file: string) => file.replace(/^prometheus\//, '');
  return {
    global: {
      scrape_interval: `${config.scrapeIntervalSeconds}s`,
      evaluation_interval: `${config.evaluationIntervalSeconds}s`,
    },
    rule_files: Object.values(RULE_FILES).map(underPrometheus),
    alerting: {
      alertmanagers: [
        { static_configs: [{ targets: [config.alertmanagerTarget] }] },
      ],
    },
    scrape_configs: [
      staticJob(config.exporterJob, config.exporterTarget),
      staticJob(config.modelServerJob, config.modelServerTarget, '/metrics'),
      staticJob('prometheus', config.prometheusTarget),
      staticJob('alertmanager', config.alertmanagerTarget),
    ],
  };
}
