/**
 * Every metric the exporter serves, as data: name, type, help and labels.
 * The runtime registers these, and the bundle generators read them, so a
 * renamed metric fails generation instead of leaving a dashboard empty.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
}

/** Labels that identify what served a request. */
export const MODEL_LABELS = ['model', 'version', 'scene'] as const;

/** Latency buckets in seconds, from 1 ms to 10 s. */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

function define(
  name: string,
  type: MetricType,
  help: string,
  labels: readonly string[] = [],
): MetricDefinition {
  return { name, type, help, labels };
}

const M = MODEL_LABELS;

/** Requests, latency and returned items, from inference events. */
export const serving = {
  requests: define(
    'inference_requests_total',
    'counter',
    'Inference requests seen in the logs, by outcome.',
    [...M, 'outcome'],
  ),
  duration: define(
    'inference_request_duration_seconds',
    'histogram',
    'Server-side latency of inference requests in seconds.',
    M,
  ),
  returnedItems: define(
    'inference_returned_items_total',
    'counter',
    'Items returned in ranked lists.',
    M,
  ),
} as const;

/**
 * Recommendation quality as counters, so that ratios of their rates stay
 * exact when summed over many exporters. Precision is hits / recommended,
 * recall is hits / relevant, NDCG@k is dcg / ideal_dcg.
 */
export const quality = {
  lists: define(
    'inference_quality_lists_total',
    'counter',
    'Ranked lists that entered the attribution join.',
    M,
  ),
  recommended: define(
    'inference_quality_recommended_items_total',
    'counter',
    'Items recommended in lists that entered the attribution join.',
    M,
  ),
  relevant: define(
    'inference_quality_relevant_items_total',
    'counter',
    'Distinct items a user acted on after a list, attributed to that list.',
    M,
  ),
  hits: define(
    'inference_quality_hits_total',
    'counter',
    'Relevant items that were in the recommended list.',
    M,
  ),
  recommendedAtK: define(
    'inference_quality_recommended_items_at_k_total',
    'counter',
    'Items recommended within the top k of each list.',
    [...M, 'k'],
  ),
  hitsAtK: define(
    'inference_quality_hits_at_k_total',
    'counter',
    'Relevant items found within the top k of the recommended list.',
    [...M, 'k'],
  ),
  listsHitAtK: define(
    'inference_quality_lists_hit_at_k_total',
    'counter',
    'Lists with at least one relevant item within the top k.',
    [...M, 'k'],
  ),
  dcgAtK: define(
    'inference_quality_dcg_at_k_total',
    'counter',
    'Discounted cumulative gain of hits within the top k, summed over lists.',
    [...M, 'k'],
  ),
  idealDcgAtK: define(
    'inference_quality_ideal_dcg_at_k_total',
    'counter',
    'Ideal discounted cumulative gain for the relevant items, summed over lists.',
    [...M, 'k'],
  ),
} as const;

/** Sliding-window gauges, for users who ask for the figures by name. */
export const window = {
  qps: define(
    'inference_window_requests_per_second',
    'gauge',
    'Requests per second over the sliding window.',
    M,
  ),
  precision: define(
    'inference_window_precision_ratio',
    'gauge',
    'Hits over recommended items in the sliding window.',
    M,
  ),
  recall: define(
    'inference_window_recall_ratio',
    'gauge',
    'Hits over relevant items in the sliding window.',
    M,
  ),
  f1: define(
    'inference_window_f1_ratio',
    'gauge',
    'Harmonic mean of precision and recall in the sliding window.',
    M,
  ),
  windowSeconds: define(
    'inference_window_seconds',
    'gauge',
    'Length of the sliding window the window gauges cover.',
  ),
} as const;

/** The attribution join between recommendations and feedback. */
export const attribution = {
  feedback: define(
    'inference_feedback_events_total',
    'counter',
    'Feedback events by action and by how they were attributed (request, user or none).',
    ['action', 'attribution'],
  ),
  pending: define(
    'inference_attribution_pending_lists',
    'gauge',
    'Recommended lists held in the join, waiting for feedback.',
  ),
  evictions: define(
    'inference_attribution_evictions_total',
    'counter',
    'Lists dropped from the join, by reason (age or size).',
    ['reason'],
  ),
} as const;

/** Limits on label values taken from logs. */
export const limits = {
  folded: define(
    'inference_cardinality_folded_total',
    'counter',
    'Events whose label values were folded into the value "overflow" because a series limit was reached, by limit.',
    ['limit'],
  ),
} as const;

/** Ingestion of log lines and pushed events. */
export const ingest = {
  lines: define(
    'inference_log_lines_total',
    'counter',
    'Input lines by result (parsed, skipped, malformed) and reason.',
    ['result', 'reason'],
  ),
  bytes: define(
    'inference_log_read_bytes_total',
    'counter',
    'Bytes read from tailed log files.',
  ),
  files: define(
    'inference_log_files_watched',
    'gauge',
    'Log files currently open for tailing.',
  ),
  rotations: define(
    'inference_log_rotations_total',
    'counter',
    'Log rotations detected, by kind (rename or truncate).',
    ['kind'],
  ),
  errors: define(
    'inference_log_errors_total',
    'counter',
    'Errors while tailing or saving positions, by operation.',
    ['operation'],
  ),
  lastLine: define(
    'inference_log_last_line_timestamp_seconds',
    'gauge',
    'Wall-clock time at which the last input line was processed.',
  ),
} as const;

/** Host resources, collected on their own interval. */
export const host = {
  cpuUtilization: define(
    'inference_host_cpu_utilization_ratio',
    'gauge',
    'Share of CPU time not idle across all cores since the previous collection.',
  ),
  cpuSeconds: define(
    'inference_host_cpu_seconds_total',
    'counter',
    'CPU time spent in each mode, summed over cores.',
    ['mode'],
  ),
  memoryTotal: define(
    'inference_host_memory_total_bytes',
    'gauge',
    'Physical memory.',
  ),
  memoryUsed: define(
    'inference_host_memory_used_bytes',
    'gauge',
    'Memory in use, not counting buffers and page cache.',
  ),
  memoryAvailable: define(
    'inference_host_memory_available_bytes',
    'gauge',
    'Memory available for new work without swapping.',
  ),
  memoryUtilization: define(
    'inference_host_memory_utilization_ratio',
    'gauge',
    'Share of physical memory that is not available.',
  ),
  networkReceive: define(
    'inference_host_network_receive_bytes_total',
    'counter',
    'Bytes received per network interface.',
    ['device'],
  ),
  networkTransmit: define(
    'inference_host_network_transmit_bytes_total',
    'counter',
    'Bytes sent per network interface.',
    ['device'],
  ),
  networkReceiveRate: define(
    'inference_host_network_receive_bytes_per_second',
    'gauge',
    'Receive bandwidth per interface since the previous collection.',
    ['device'],
  ),
  networkTransmitRate: define(
    'inference_host_network_transmit_bytes_per_second',
    'gauge',
    'Transmit bandwidth per interface since the previous collection.',
    ['device'],
  ),
  collectorSuccess: define(
    'inference_host_collector_success',
    'gauge',
    'Whether the last run of a host collector succeeded (1) or failed (0).',
    ['collector'],
  ),
  collectorDuration: define(
    'inference_host_collector_duration_seconds',
    'gauge',
    'How long the last run of a host collector took.',
    ['collector'],
  ),
} as const;

/** Labels of per-GPU series; the product name is on the info series only. */
export const GPU_LABELS = ['gpu', 'uuid'] as const;

/** The model-server health probe. */
export const probe = {
  up: {
    name: 'inference_probe_up',
    type: 'gauge',
    help: 'Whether the last health probe of a model server succeeded (1) or failed (0).',
    labels: ['target'],
  },
  duration: {
    name: 'inference_probe_duration_seconds',
    type: 'gauge',
    help: 'How long the last health probe took, until its answer, error or timeout.',
    labels: ['target'],
  },
  statusCode: {
    name: 'inference_probe_http_status_code',
    type: 'gauge',
    help: 'HTTP status code of the last health probe response; absent when none came.',
    labels: ['target'],
  },
  failures: {
    name: 'inference_probe_failures_total',
    type: 'counter',
    help: 'Failed health probes, by reason.',
    labels: ['target', 'reason'],
  },
  field: {
    name: 'inference_probe_field_value',
    type: 'gauge',
    help: 'Numbers and booleans (as 0 or 1) from the last JSON health response, nested keys joined by underscores.',
    labels: ['target', 'field'],
  },
} as const;

/** The push endpoints, /ingest and /data. */
export const push = {
  requests: {
    name: 'inference_ingest_requests_total',
    type: 'counter',
    help: 'Requests to the push endpoints, by route and HTTP status code.',
    labels: ['route', 'code'],
  },
  pushedValue: {
    name: 'inference_pushed_value',
    type: 'gauge',
    help: 'The last number pushed to /data, by pushing source and field.',
    labels: ['source', 'field'],
  },
  pushedIgnored: {
    name: 'inference_pushed_fields_ignored_total',
    type: 'counter',
    help: 'Fields pushed to /data and not kept, by reason (not_number, bad_name, over_limit).',
    labels: ['reason'],
  },
  pushedLast: {
    name: 'inference_pushed_last_timestamp_seconds',
    type: 'gauge',
    help: 'Wall-clock time of the last push to /data that kept a value, by source.',
    labels: ['source'],
  },
} as const;

/** NVIDIA GPUs, when the host has them. */
export const gpu = {
  info: {
    name: 'inference_host_gpu_info',
    type: 'gauge',
    help: 'Constant 1 per NVIDIA GPU, labelled with its index, UUID and product name.',
    labels: [...GPU_LABELS, 'name'],
  },
  utilization: {
    name: 'inference_host_gpu_utilization_ratio',
    type: 'gauge',
    help: 'Share of the last sample period in which the GPU was running a kernel.',
    labels: GPU_LABELS,
  },
  memoryUsed: {
    name: 'inference_host_gpu_memory_used_bytes',
    type: 'gauge',
    help: 'GPU memory allocated by running contexts.',
    labels: GPU_LABELS,
  },
  memoryTotal: {
    name: 'inference_host_gpu_memory_total_bytes',
    type: 'gauge',
    help: 'GPU memory installed on the board.',
    labels: GPU_LABELS,
  },
  power: {
    name: 'inference_host_gpu_power_watts',
    type: 'gauge',
    help: 'Power drawn by the whole GPU board.',
    labels: GPU_LABELS,
  },
} as const;

/** The remediation receiver behind /-/remediate. */
export const remediation = {
  decisions: {
    name: 'inference_remediation_decisions_total',
    type: 'counter',
    help: 'Decisions the remediation receiver took about alerts from Alertmanager, by rule and decision.',
    labels: ['rule', 'decision'],
  },
  actionDuration: {
    name: 'inference_remediation_action_duration_seconds',
    type: 'histogram',
    help: 'Time remediation actions took from start to result, in seconds.',
    labels: ['rule'],
  },
} as const;

/** The exporter itself. */
export const exporter = {
  buildInfo: define(
    'inference_exporter_build_info',
    'gauge',
    'Constant 1, labelled with the exporter version and the Node.js version.',
    ['version', 'nodejs_version'],
  ),
  startTime: define(
    'inference_exporter_start_time_seconds',
    'gauge',
    'Start time of the exporter since the Unix epoch.',
  ),
} as const;

/** All definitions, for generators and for the docs table. */
export const ALL_METRICS: readonly MetricDefinition[] = [
  ...Object.values(serving),
  ...Object.values(quality),
  ...Object.values(window),
  ...Object.values(attribution),
  ...Object.values(limits),
  ...Object.values(ingest),
  ...Object.values(host),
  ...Object.values(gpu),
  ...Object.values(probe),
  ...Object.values(push),
  ...Object.values(remediation),
  ...Object.values(exporter),
];
