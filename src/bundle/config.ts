/**
 * The one object every bundle generator reads: selectors, thresholds,
 * windows, durations, names and addresses. Defaults suit the docker-compose
 * stack; a deployment overrides single fields and regenerates.
 */
import { VERSION } from '../version.js';

/** Severity levels, defined once. */
export const SEVERITY = {
  /** Pages a person now: users are affected or about to be. */
  critical: 'critical',
  /** Goes to a work queue: look at it within the working day. */
  warning: 'warning',
  /** Helps troubleshooting; never notifies on its own. */
  info: 'info',
} as const;

export type Severity = (typeof SEVERITY)[keyof typeof SEVERITY];

/**
 * Names of the metrics Triton, TorchServe and vLLM serve on their own
 * /metrics, scraped as job `modelServerJob`. The dashboards' collapsed
 * "Model server (native metrics)" row reads them; panels of a server you do
 * not run stay empty. Names and types are those each project documents;
 * rename one here when a server release changes it.
 */
export interface ModelServerMetrics {
  /** Triton counter of successful requests, labelled `model` and `version`. */
  tritonRequestSuccess: string;
  /** Triton counter of failed requests; newer releases add a `reason` label. */
  tritonRequestFailure: string;
  /** Triton counter: summed end-to-end request time in microseconds. */
  tritonRequestDurationMicroseconds: string;
  /** Triton counter: summed time requests waited in the scheduler queue, in microseconds. */
  tritonQueueDurationMicroseconds: string;
  /** Triton gauge of requests waiting to run, per model. */
  tritonPendingRequests: string;
  /** TorchServe counter of inference requests, labelled `model_name` and `model_version`. */
  torchserveRequests: string;
  /** TorchServe counter: summed inference time in microseconds. */
  torchserveInferenceLatencyMicroseconds: string;
  /** TorchServe counter: summed queue time in microseconds. */
  torchserveQueueLatencyMicroseconds: string;
  /** vLLM histogram of end-to-end request latency in seconds, without `_bucket`; labelled `model_name`. */
  vllmE2eRequestLatencySeconds: string;
  /** vLLM gauge of requests in the running batch. */
  vllmRequestsRunning: string;
  /** vLLM gauge of requests waiting to be scheduled. */
  vllmRequestsWaiting: string;
  /** vLLM counter of finished requests, labelled `finished_reason`. */
  vllmRequestSuccess: string;
}

/** The names Triton, TorchServe and vLLM use today. */
export const DEFAULT_MODEL_SERVER_METRICS: Readonly<ModelServerMetrics> = {
  tritonRequestSuccess: 'nv_inference_request_success',
  tritonRequestFailure: 'nv_inference_request_failure',
  tritonRequestDurationMicroseconds: 'nv_inference_request_duration_us',
  tritonQueueDurationMicroseconds: 'nv_inference_queue_duration_us',
  tritonPendingRequests: 'nv_inference_pending_request_count',
  torchserveRequests: 'ts_inference_requests_total',
  torchserveInferenceLatencyMicroseconds: 'ts_inference_latency_microseconds',
  torchserveQueueLatencyMicroseconds: 'ts_queue_latency_microseconds',
  vllmE2eRequestLatencySeconds: 'vllm:e2e_request_latency_seconds',
  vllmRequestsRunning: 'vllm:num_requests_running',
  vllmRequestsWaiting: 'vllm:num_requests_waiting',
  vllmRequestSuccess: 'vllm:request_success_total',
};

export interface BundleConfig {
  /** Scrape job of the exporter. Change with `exporterSelector`. */
  exporterJob: string;
  /** Label matchers for every exporter series; add e.g. `env="prod"` to narrow rules to one environment. */
  exporterSelector: string;
  /** host:port of the exporter; 10464 is its default listen port. */
  exporterTarget: string;
  /** Scrape job of the model server's own /metrics. */
  modelServerJob: string;
  /** host:port of the model server's /metrics; change when it listens elsewhere (Triton serves it on 8002, TorchServe on 8082). */
  modelServerTarget: string;
  /** The model server's own metric names, by server; override single names. */
  modelServerMetrics: ModelServerMetrics;
  /** host:port Prometheus scrapes itself on. */
  prometheusTarget: string;
  /** host:port of Alertmanager, for alert delivery and its scrape. */
  alertmanagerTarget: string;
  /** Gauge the model-server health probe exports (1 up, 0 down), labelled `target`. */
  probeUpMetric: string;
  /** Regex over the `outcome` label that counts as a failed request; widen it when the server logs other failure words. */
  errorOutcomeRegex: string;
  /** Scrape interval in seconds; lower it only when 1m rates look too coarse. */
  scrapeIntervalSeconds: number;
  /** Rule evaluation interval in seconds; keep it equal to the scrape interval. */
  evaluationIntervalSeconds: number;
  /** Rate windows recorded for every ratio; each must be at least four scrape intervals. */
  recordingWindows: string[];
  /** Recorded window alerts and dashboards use; one of `recordingWindows`. */
  alertWindow: string;
  /** Window for feedback rates; longer than `alertWindow` because feedback trails requests by minutes. */
  feedbackWindow: string;

  /** Alert when the 5m request rate falls below this share of both the rate a day and a week earlier. */
  qpsDropThreshold: number;
  /** Requests per second a day and a week earlier must exceed for a drop to alert; raise it so quiet hours stay quiet. */
  qpsDropFloorThreshold: number;
  /** How long a drop must last; shorter pages faster on real outages and more often on blips. */
  qpsDropFor: string;
  /** The first earlier window the request rate is compared with; one day catches daily cycles. */
  qpsDropDayOffset: string;
  /** The second earlier window; one week catches weekday and weekend patterns. */
  qpsDropWeekOffset: string;
  /** Share of failed requests that alerts. */
  errorRatioThreshold: number;
  errorRatioFor: string;
  /** p99 latency in seconds that alerts; set from the model's latency budget. */
  latencyP99Threshold: number;
  latencyFor: string;
  /** Precision below this alerts; set it from a normal week of the dashboard. */
  precisionThreshold: number;
  /** Recall below this alerts; set it from a normal week of the dashboard. */
  recallThreshold: number;
  /** F1 below this alerts; set it from a normal week of the dashboard. */
  f1Threshold: number;
  /** Quality alerts wait long, because a few lists make ratios jump. */
  qualityFor: string;
  /** Host CPU utilisation (0..1) that warns. */
  hostCpuWarningThreshold: number;
  /** Host CPU utilisation (0..1) that pages. */
  hostCpuCriticalThreshold: number;
  hostCpuFor: string;
  /** Host memory utilisation (0..1) that warns. */
  hostMemoryThreshold: number;
  hostMemoryFor: string;
  /** Capacity of each network interface in bytes per second; 125e6 is 1 Gbit/s. */
  networkLinkCapacityBytesPerSecond: number;
  /** Share of link capacity, in either direction, that alerts. */
  networkSaturationThreshold: number;
  networkFor: string;
  /** Seconds without a new log line, while the exporter is up, that alert; raise it for servers idle at night. */
  logStalledThreshold: number;
  logStalledFor: string;
  /** Share of input lines that are malformed that alerts. */
  malformedLinesThreshold: number;
  malformedLinesFor: string;
  /** Share of feedback attributed to no list that alerts. */
  feedbackUnmatchedThreshold: number;
  /** Matched feedback per second below which the join counts as stopped. */
  feedbackMatchedFloorThreshold: number;
  /** Requests per second above which stopped matching alerts. */
  feedbackRequestsFloorThreshold: number;
  feedbackFor: string;
  /** How long the exporter scrape may fail before alerting. */
  exporterDownFor: string;
  /** How long the probe may fail before alerting and restarting. */
  modelServerDownFor: string;

  /** Team owning the model: serving and quality alerts. */
  modelTeam: string;
  /** Team owning the exporter and hosts. */
  platformTeam: string;
  /** Mailbox of the model team. */
  modelTeamEmail: string;
  /** Mailbox of the platform team. */
  platformTeamEmail: string;
  /** Sender address of alert mail. */
  emailFrom: string;
  /** SMTP relay host:port; the compose stack runs mailpit. */
  smtpSmarthost: string;
  /** Whether SMTP must use STARTTLS; keep false only for a local relay. */
  smtpRequireTls: boolean;
  /** Webhook of the SMS or chat gateway that pages for critical alerts. */
  pagerWebhookUrl: string;
  /** Webhook that runs remediation for alerts carrying an `action` label. */
  remediationWebhookUrl: string;
  /** Labels a model-server-down alert must share with the alerts it silences. The probe only labels `target`, so the default matches on team. */
  modelServerInhibitEqual: string[];
  /** Where docs/runbooks.md is served; each alert links to an anchor in it. */
  runbookBaseUrl: string;

  /** Fixed uid of the Prometheus data source in Grafana; dashboards refer to it. */
  datasourceUid: string;
  /** URL Grafana reaches Prometheus on. */
  prometheusUrl: string;
  /** Tags on every dashboard, for search and dashboard links. */
  dashboardTags: string[];
  /** Dashboard auto-refresh; slower saves Prometheus load on big screens. */
  dashboardRefresh: string;
  /** Folder in the Grafana container the file provider reads. */
  dashboardsPath: string;

  /** Namespace of every Kubernetes manifest under deploy/kubernetes/; create it before applying. */
  kubernetesNamespace: string;
  /** Exporter image with its tag; push your own build and pin it to a tag or digest. */
  exporterImage: string;
  /** Stands in for your model server's image in the sidecar example; the server must write JSON Lines to /var/log/model-server/. */
  modelServerImage: string;
}

/** Defaults for the docker-compose stack. */
export const DEFAULT_BUNDLE_CONFIG: Readonly<BundleConfig> = {
  exporterJob: 'inference-exporter',
  exporterSelector: 'job="inference-exporter"',
  exporterTarget: 'inference-exporter:10464',
  modelServerJob: 'model-server',
  modelServerTarget: 'model-server:8080',
  modelServerMetrics: DEFAULT_MODEL_SERVER_METRICS,
  prometheusTarget: 'prometheus:9090',
  alertmanagerTarget: 'alertmanager:9093',
  probeUpMetric: 'inference_probe_up',
  errorOutcomeRegex: 'error|timeout',
  scrapeIntervalSeconds: 15,
  evaluationIntervalSeconds: 15,
  recordingWindows: ['1m', '5m'],
  alertWindow: '5m',
  feedbackWindow: '15m',

  qpsDropThreshold: 0.5,
  qpsDropFloorThreshold: 1,
  qpsDropFor: '10m',
  qpsDropDayOffset: '1d',
  qpsDropWeekOffset: '1w',
  errorRatioThreshold: 0.05,
  errorRatioFor: '5m',
  latencyP99Threshold: 1,
  latencyFor: '10m',
  precisionThreshold: 0.01,
  recallThreshold: 0.02,
  f1Threshold: 0.01,
  qualityFor: '30m',
  hostCpuWarningThreshold: 0.8,
  hostCpuCriticalThreshold: 0.95,
  hostCpuFor: '15m',
  hostMemoryThreshold: 0.9,
  hostMemoryFor: '10m',
  networkLinkCapacityBytesPerSecond: 125_000_000,
  networkSaturationThreshold: 0.8,
  networkFor: '10m',
  logStalledThreshold: 600,
  logStalledFor: '5m',
  malformedLinesThreshold: 0.05,
  malformedLinesFor: '10m',
  feedbackUnmatchedThreshold: 0.9,
  feedbackMatchedFloorThreshold: 0.001,
  feedbackRequestsFloorThreshold: 1,
  feedbackFor: '30m',
  exporterDownFor: '5m',
  modelServerDownFor: '2m',

  modelTeam: 'recsys',
  platformTeam: 'ml-platform',
  modelTeamEmail: 'recsys-oncall@inference.local',
  platformTeamEmail: 'ml-platform-oncall@inference.local',
  emailFrom: 'alertmanager@inference.local',
  smtpSmarthost: 'mailpit:1025',
  smtpRequireTls: false,
  pagerWebhookUrl: 'http://alert-gateway:9099/notify',
  remediationWebhookUrl: 'http://inference-exporter:10464/-/remediate',
  modelServerInhibitEqual: ['team'],
  runbookBaseUrl: 'docs/runbooks.md',

  datasourceUid: 'inference-prometheus',
  prometheusUrl: 'http://prometheus:9090',
  dashboardTags: ['inference', 'inference-exporter'],
  dashboardRefresh: '30s',
  dashboardsPath: '/var/lib/grafana/dashboards',

  kubernetesNamespace: 'inference',
  exporterImage: `inference-exporter:${VERSION}`,
  modelServerImage: 'registry.example.com/shop/model-server:1.0.0',
};

const DURATION = /^[1-9][0-9]*(ms|s|m|h|d|w)$/;

/**
 * Merges `partial` over the defaults. Throws on an unknown key, a value of
 * the wrong type, a bad duration or a ratio outside 0..1, naming the key.
 */
export function validateBundleConfig(partial: unknown): BundleConfig {
  if (typeof partial !== 'object' || partial === null) {
    throw new Error('bundle config: expected an object');
  }
  const merged: Record<string, unknown> = { ...DEFAULT_BUNDLE_CONFIG };
  for (const [key, value] of Object.entries(partial)) {
    if (!Object.hasOwn(DEFAULT_BUNDLE_CONFIG, key)) {
      throw new Error(`bundle config: unknown key "${key}"`);
    }
    merged[key] =
      key === 'modelServerMetrics'
        ? mergeModelServerMetrics(value)
        : checkType(key, value, merged[key]);
  }
  const config = merged as unknown as BundleConfig;
  checkRules(config);
  return config;
}

/** A metric name as the Prometheus text format allows it. */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function mergeModelServerMetrics(partial: unknown): ModelServerMetrics {
  if (
    typeof partial !== 'object' ||
    partial === null ||
    Array.isArray(partial)
  ) {
    throw new Error(
      `bundle config: "modelServerMetrics" must be an object, got ${JSON.stringify(partial)}`,
    );
  }
  const merged: Record<string, string> = { ...DEFAULT_MODEL_SERVER_METRICS };
  for (const [key, value] of Object.entries(partial)) {
    const at = `modelServerMetrics.${key}`;
    if (!Object.hasOwn(DEFAULT_MODEL_SERVER_METRICS, key)) {
      throw new Error(`bundle config: unknown key "${at}"`);
    }
    if (typeof value !== 'string' || !METRIC_NAME.test(value)) {
      throw new Error(
        `bundle config: "${at}" must be a metric name, got ${JSON.stringify(value)}`,
      );
    }
    merged[key] = value;
  }
  return merged as unknown as ModelServerMetrics;
}

/** Returns `value` once it has the type of the default. */
function checkType(key: string, value: unknown, expected: unknown): unknown {
  const want = Array.isArray(expected) ? 'string[]' : typeof expected;
  const isStringList =
    Array.isArray(value) && value.every((v) => typeof v === 'string');
  const ok = want === 'string[]' ? isStringList : typeof value === want;
  const finite = typeof value !== 'number' || Number.isFinite(value);
  if (!ok || !finite) {
    const got = JSON.stringify(value);
    throw new Error(`bundle config: "${key}" must be ${want}, got ${got}`);
  }
  return value;
}

function checkRules(config: BundleConfig): void {
  for (const [key, value] of Object.entries(config)) {
    const isDuration =
      key.endsWith('For') || key.endsWith('Window') || key.endsWith('Offset');
    if (isDuration && !DURATION.test(String(value))) {
      throw new Error(
        `bundle config: "${key}" must be a duration like 5m, got "${value}"`,
      );
    }
    if (isRatioKey(key) && !(Number(value) > 0 && Number(value) <= 1)) {
      throw new Error(
        `bundle config: "${key}" must be in (0, 1], got ${value}`,
      );
    }
  }
  for (const window of config.recordingWindows) {
    if (!DURATION.test(window)) {
      throw new Error(
        `bundle config: "recordingWindows" holds bad duration "${window}"`,
      );
    }
  }
  if (!config.recordingWindows.includes(config.alertWindow)) {
    throw new Error(
      `bundle config: "alertWindow" must be one of recordingWindows, got "${config.alertWindow}"`,
    );
  }
}

const RATIO_KEYS = new Set([
  'qpsDropThreshold',
  'errorRatioThreshold',
  'precisionThreshold',
  'recallThreshold',
  'f1Threshold',
  'hostCpuWarningThreshold',
  'hostCpuCriticalThreshold',
  'hostMemoryThreshold',
  'networkSaturationThreshold',
  'malformedLinesThreshold',
  'feedbackUnmatchedThreshold',
]);

function isRatioKey(key: string): boolean {
  return RATIO_KEYS.has(key);
}
