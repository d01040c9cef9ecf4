/**
 * Alert rules. Each alert is a spec with a fixed summary and a templated
 * description; severity, team, the optional remediation `action` and the
 * runbook link are attached here in one place.
 */
import { attribution, host, ingest, serving } from '../metrics/definitions.js';
import { SEVERITY, type BundleConfig, type Severity } from './config.js';
import { rate, series, sumBy } from './promql.js';
import { recorded, type RuleGroup } from './recording.js';

/** Remediation the webhook may run for an alert. */
export type RemediationAction = 'restart' | 'failover';

export interface AlertSpec {
  alert: string;
  group: string;
  expr: string;
  for: string;
  severity: Severity;
  team: string;
  action?: RemediationAction;
  /** Labels that tell two rules of the same alert apart. */
  extraLabels?: Record<string, string>;
  summary: string;
  description: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The anchor of an alert's section in docs/runbooks.md. */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

/** Every alert rule as a spec, in file order. */
export function alertSpecs(config: BundleConfig): AlertSpec[] {
  return [
    ...availabilityAlerts(config),
    ...servingAlerts(config),
    ...qualityAlerts(config),
    ...hostAlerts(config),
    ...ingestionAlerts(config),
  ];
}

/** Distinct alert names, in file order. */
export function alertNames(config: BundleConfig): string[] {
  return [...new Set(alertSpecs(config).map((s) => s.alert))];
}

/** Specs turned into Prometheus rule groups, with labels and runbook links. */
export function alertGroups(config: BundleConfig): RuleGroup<AlertRule>[] {
  const groups = new Map<string, AlertRule[]>();
  for (const spec of alertSpecs(config)) {
    const rules = groups.get(spec.group) ?? [];
    rules.push(toRule(spec, config));
    groups.set(spec.group, rules);
  }
  return [...groups].map(([name, rules]) => ({ name, rules }));
}

function toRule(spec: AlertSpec, config: BundleConfig): AlertRule {
  const labels: Record<string, string> = {
    severity: spec.severity,
    team: spec.team,
    ...(spec.action ? { action: spec.action } : {}),
    ...spec.extraLabels,
  };
  return {
    alert: spec.alert,
    expr: spec.expr,
    for: spec.for,
    labels,
    annotations: {
      summary: spec.summary,
      description: spec.description,
      runbook_url: `${config.runbookBaseUrl}#${runbookAnchor(spec.alert)}`,
    },
  };
}

/** `0.05` as `5%`, as the descriptions print thresholds. */
export function percent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(4))}%`;
}

const MODEL_TEXT =
  'model {{ $labels.model }} version {{ $labels.version }} in scene {{ $labels.scene }}';

function availabilityAlerts(c: BundleConfig): AlertSpec[] {
  return [
    {
      alert: 'InferenceExporterDown',
      group: 'inference-availability',
      expr: `${series('up', c.exporterSelector)} == 0`,
      for: c.exporterDownFor,
      severity: SEVERITY.critical,
      team: c.platformTeam,
      summary: 'The inference exporter cannot be scraped.',
      description: `Prometheus has not scraped the exporter at {{ $labels.instance }} (job {{ $labels.job }}) for ${c.exporterDownFor}; its request, latency and quality metrics are missing.`,
    },
    {
      alert: 'InferenceModelServerDown',
      group: 'inference-availability',
      expr: `${series(c.probeUpMetric, c.exporterSelector)} == 0`,
      for: c.modelServerDownFor,
      severity: SEVERITY.critical,
      team: c.modelTeam,
      action: 'restart',
      summary: 'The model server fails its health probe.',
      description: `The health probe of {{ $labels.target }}, run by the exporter at {{ $labels.instance }}, has failed for ${c.modelServerDownFor}.`,
    },
  ];
}

function servingAlerts(c: BundleConfig): AlertSpec[] {
  const w = c.alertWindow;
  return [
    {
      alert: 'InferenceQPSDrop',
      group: 'inference-serving',
      expr: qpsDropExpr(c),
      for: c.qpsDropFor,
      severity: SEVERITY.critical,
      team: c.modelTeam,
      action: 'failover',
      summary:
        'Requests to a model fell far below the same time yesterday and last week.',
      description: `Requests to model {{ $labels.model }} in scene {{ $labels.scene }} are at {{ $value | humanizePercentage }} of the rate one day earlier, and below ${percent(c.qpsDropThreshold)} of the rates one day and one week earlier.`,
    },
    {
      alert: 'InferenceErrorRatioHigh',
      group: 'inference-serving',
      expr: `${recorded.errorRatio(w)} > ${c.errorRatioThreshold}`,
      for: c.errorRatioFor,
      severity: SEVERITY.critical,
      team: c.modelTeam,
      summary: 'Too many inference requests fail.',
      description: `{{ $value | humanizePercentage }} of requests to ${MODEL_TEXT} failed over the last ${w} (threshold ${percent(c.errorRatioThreshold)}).`,
    },
    {
      alert: 'InferenceLatencyP99High',
      group: 'inference-serving',
      expr: `${recorded.latency('p99', w)} > ${c.latencyP99Threshold}`,
      for: c.latencyFor,
      severity: SEVERITY.warning,
      team: c.modelTeam,
      summary: 'Inference p99 latency is above its budget.',
      description: `p99 latency of ${MODEL_TEXT} is {{ $value | humanizeDuration }} over the last ${w} (threshold ${c.latencyP99Threshold}s).`,
    },
  ];
}

/**
 * Current rate against the same window one day and one week earlier, per
 * model and scene. Versions are summed so that a rollout, which moves
 * traffic from one version label to another, is not taken for a drop.
 */
function qpsDropExpr(c: BundleConfig): string {
  const by = ['model', 'scene'];
  const selected = series(serving.requests, c.exporterSelector);
  const at = (offset: string) =>
    sumBy(by, `rate(${selected}[${c.alertWindow}]${offset})`);
  const now = at('');
  const day = at(` offset ${c.qpsDropDayOffset}`);
  const week = at(` offset ${c.qpsDropWeekOffset}`);
  return [
    `(${now} / ${day} < ${c.qpsDropThreshold})`,
    `and (${now} / ${week} < ${c.qpsDropThreshold})`,
    `and (${day} > ${c.qpsDropFloorThreshold})`,
    `and (${week} > ${c.qpsDropFloorThreshold})`,
  ].join('\n');
}

function qualityAlerts(c: BundleConfig): AlertSpec[] {
  const w = c.alertWindow;
  const measures = [
    ['Precision', recorded.precision(w), c.precisionThreshold],
    ['Recall', recorded.recall(w), c.recallThreshold],
    ['F1', recorded.f1(w), c.f1Threshold],
  ] as const;
  return measures.map(([measure, name, threshold]) => ({
    alert: `Inference${measure}Low`,
    group: 'inference-quality',
    expr: `${name} < ${threshold}`,
    for: c.qualityFor,
    severity: SEVERITY.warning,
    team: c.modelTeam,
    summary: `Recommendation ${measure === 'F1' ? 'F1' : measure.toLowerCase()} is below its baseline.`,
    description: `${measure} of ${MODEL_TEXT} is {{ $value | humanizePercentage }} over the last ${w}, below the baseline of ${percent(threshold)}.`,
  }));
}

function hostAlerts(c: BundleConfig): AlertSpec[] {
  const sel = c.exporterSelector;
  const cpu = (severity: Severity, threshold: number): AlertSpec => ({
    alert: 'InferenceHostCPUHigh',
    group: 'inference-host',
    expr: `${series(host.cpuUtilization, sel)} > ${threshold}`,
    for: c.hostCpuFor,
    severity,
    team: c.platformTeam,
    summary: 'The inference host is short of CPU.',
    description: `CPU of host {{ $labels.instance }} is {{ $value | humanizePercentage }} busy (threshold ${percent(threshold)}).`,
  });
  return [
    cpu(SEVERITY.warning, c.hostCpuWarningThreshold),
    cpu(SEVERITY.critical, c.hostCpuCriticalThreshold),
    {
      alert: 'InferenceHostMemoryHigh',
      group: 'inference-host',
      expr: `${series(host.memoryUtilization, sel)} > ${c.hostMemoryThreshold}`,
      for: c.hostMemoryFor,
      severity: SEVERITY.warning,
      team: c.platformTeam,
      summary: 'The inference host is running out of memory.',
      description: `Memory of host {{ $labels.instance }} is {{ $value | humanizePercentage }} used (threshold ${percent(c.hostMemoryThreshold)}).`,
    },
    {
      alert: 'InferenceHostNetworkSaturated',
      group: 'inference-host',
      expr: networkExpr(c),
      for: c.networkFor,
      severity: SEVERITY.warning,
      team: c.platformTeam,
      summary:
        'A network interface of the inference host is near its capacity.',
      description: `The {{ $labels.direction }} rate of {{ $labels.device }} on host {{ $labels.instance }} is {{ $value | humanizePercentage }} of the ${bytesPerSecond(c.networkLinkCapacityBytesPerSecond)} link (threshold ${percent(c.networkSaturationThreshold)}).`,
    },
  ];
}

/** Receive and transmit as one series set, told apart by `direction`. */
function networkExpr(c: BundleConfig): string {
  const share = (def: typeof host.networkReceive, direction: string) =>
    `label_replace(${rate(def, c.alertWindow, c.exporterSelector)} / ${c.networkLinkCapacityBytesPerSecond}, "direction", "${direction}", "", "")`;
  const limit = c.networkSaturationThreshold;
  return [
    `${share(host.networkReceive, 'receive')} > ${limit}`,
    `or ${share(host.networkTransmit, 'transmit')} > ${limit}`,
  ].join('\n');
}

/** Bytes per second with a decimal unit, e.g. `125 MB/s`. */
export function bytesPerSecond(value: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1000 && unit < units.length - 1) {
    scaled /= 1000;
    unit += 1;
  }
  return `${Number(scaled.toPrecision(4))} ${units[unit]}`;
}

function ingestionAlerts(c: BundleConfig): AlertSpec[] {
  const sel = c.exporterSelector;
  const w = c.alertWindow;
  const lines = (result: string) =>
    sumBy(['instance', 'job'], rate(ingest.lines, w, sel, result));
  return [
    {
      alert: 'InferenceLogIngestionStalled',
      group: 'inference-ingestion',
      expr: `(time() - ${series(ingest.lastLine, sel)} > ${c.logStalledThreshold})\nand on (instance, job) (${series('up', sel)} == 1)`,
      for: c.logStalledFor,
      severity: SEVERITY.warning,
      team: c.platformTeam,
      summary: 'The exporter is up but reads no new log lines.',
      description: `The exporter at {{ $labels.instance }} processed its last log line {{ $value | humanizeDuration }} ago (threshold ${c.logStalledThreshold}s).`,
    },
    {
      alert: 'InferenceMalformedLinesRising',
      group: 'inference-ingestion',
      expr: `${lines('result="malformed"')} / ${lines('')} > ${c.malformedLinesThreshold}`,
      for: c.malformedLinesFor,
      severity: SEVERITY.warning,
      team: c.platformTeam,
      summary: 'Many input lines cannot be parsed.',
      description: `{{ $value | humanizePercentage }} of input lines at the exporter {{ $labels.instance }} were malformed over the last ${w} (threshold ${percent(c.malformedLinesThreshold)}).`,
    },
    ...feedbackAlerts(c),
  ];
}

function feedbackAlerts(c: BundleConfig): AlertSpec[] {
  const sel = c.exporterSelector;
  const w = c.feedbackWindow;
  const feedback = (match: string) =>
    sumBy([], rate(attribution.feedback, w, sel, match));
  const requests = sumBy([], rate(serving.requests, w, sel));
  const base = {
    alert: 'InferenceFeedbackJoinCollapsing',
    group: 'inference-ingestion',
    for: c.feedbackFor,
    severity: SEVERITY.warning,
    team: c.platformTeam,
    summary: 'Feedback no longer joins the recommendations it follows.',
  } as const;
  return [
    {
      ...base,
      extraLabels: { symptom: 'unmatched' },
      expr: `${feedback('attribution="none"')} / ${feedback('')} > ${c.feedbackUnmatchedThreshold}`,
      description: `{{ $value | humanizePercentage }} of feedback events over the last ${w} matched no recommended list (threshold ${percent(c.feedbackUnmatchedThreshold)}); quality metrics are starved.`,
    },
    {
      ...base,
      extraLabels: { symptom: 'stopped' },
      expr: `(${feedback('attribution!="none"')} < ${c.feedbackMatchedFloorThreshold})\nand on () (${requests} > ${c.feedbackRequestsFloorThreshold})`,
      description: `Matched feedback fell to {{ $value | humanize }} events/s over the last ${w} while requests keep flowing; quality metrics are starved.`,
    },
  ];
}
