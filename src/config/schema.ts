import type { LineFormat } from '../formats/index.js';
import {
  defaultRemediationConfig,
  type RemediationConfig,
} from '../remediation/config.js';
import type { ProbeTarget } from '../sources/probe.js';

/**
 * The exporter's configuration: typed, with every default in one place.
 * YAML keys are snake_case; these fields are their camelCase twins.
 */

/** Where in a log line each event field is found. Dotted paths reach nested keys. */
export interface FieldMapping {
  /** Field telling inference from feedback lines when a source is `auto`. */
  type: string;
  time: string;
  /** `auto` takes ISO strings, and numbers as seconds or milliseconds by size. */
  timeUnit: 'auto' | 'iso' | 's' | 'ms';
  requestId: string;
  model: string;
  version: string;
  scene: string;
  latency: string;
  latencyUnit: 's' | 'ms' | 'us';
  outcome: string;
  items: string;
  /** For items given as objects, the key of the id inside each one. */
  itemIdKey: string;
  user: string;
  item: string;
  action: string;
}

export interface SourceConfig {
  /** Files or globs to tail. */
  paths: string[];
  /** What the lines hold; `auto` reads the type field of each line. */
  type: 'auto' | 'inference' | 'feedback';
  /** How lines are written; see docs/log-format.md. */
  format: LineFormat;
  /**
   * For access-log formats: patterns with named groups `model` and
   * `version` matched against the request path; empty takes the format's.
   */
  pathRegex: string[];
  /** For `regex`: the pattern, with named groups for the fields. */
  pattern: string;
  /** For `torchserve-metrics`: the metric read as latency. */
  latencyMetric: string;
  /** For nginx and Envoy: the model server's time, or the whole request's. */
  latencyFrom: 'upstream' | 'total';
  /** Offset from UTC of log times that carry no zone, in minutes. */
  utcOffsetMinutes: number;
  /** Read files found at start from their beginning instead of their end. */
  fromBeginning: boolean;
  fields: FieldMapping;
  /**
   * Values used when a line lacks model, version, scene or outcome. An empty
   * model default makes the model field required.
   */
  defaults: { model: string; version: string; scene: string; outcome: string };
}

export interface Config {
  sources: SourceConfig[];
  positions: {
    /** The positions file; empty disables it. */
    file: string;
    /** How often offsets and counters are saved. */
    syncIntervalSeconds: number;
  };
  tail: {
    /** How often files are checked for growth, rotation and new matches. */
    pollIntervalMillis: number;
    /** Longest line kept; longer ones are counted as malformed. */
    maxLineBytes: number;
  };
  attribution: {
    /** How long after a list a user's action still counts for it. */
    windowSeconds: number;
    /** Most lists held at once; the oldest go first past it. */
    maxPendingLists: number;
    /** Cut-offs for the @k metrics. */
    k: number[];
    /**
     * Longest wait for feedback read ahead of its list, as when feedback
     * and inference logs are read side by side; 0 does not wait.
     */
    holdFeedbackSeconds: number;
    /** Most feedback events waiting at once; the earliest go first. */
    maxHeldFeedback: number;
  };
  window: {
    /** Length of the sliding window behind the window gauges. */
    seconds: number;
  };
  limits: {
    /**
     * Distinct (model, version, scene) combinations kept; later ones are
     * folded into "overflow", so a log full of made-up model names cannot
     * grow the series count without bound.
     */
    maxLabelSets: number;
    /** Distinct outcome values kept per combination. */
    maxOutcomesPerLabelSet: number;
  };
  /** Model-server health endpoints to poll. */
  probes: ProbeTarget[];
  /** Actions taken on Alertmanager webhooks at /-/remediate. */
  remediation: RemediationConfig;
  host: {
    enabled: boolean;
    intervalSeconds: number;
    /** Interfaces whose names match are not reported. */
    networkDeviceExclude: string;
  };
}

export const DEFAULT_FIELDS: FieldMapping = {
  type: 'type',
  time: 'time',
  timeUnit: 'auto',
  requestId: 'request_id',
  model: 'model',
  version: 'model_version',
  scene: 'scene',
  latency: 'latency_ms',
  latencyUnit: 'ms',
  outcome: 'status',
  items: 'items',
  itemIdKey: 'id',
  user: 'user',
  item: 'item',
  action: 'action',
};

export function defaultSource(paths: string[] = []): SourceConfig {
  return {
    paths,
    type: 'auto',
    format: 'jsonl',
    pathRegex: [],
    pattern: '',
    latencyMetric: 'PredictionTime',
    latencyFrom: 'upstream',
    utcOffsetMinutes: 0,
    fromBeginning: false,
    fields: { ...DEFAULT_FIELDS },
    defaults: {
      model: '',
      version: 'unknown',
      scene: 'default',
      outcome: 'ok',
    },
  };
}

export function defaultConfig(): Config {
  return {
    sources: [],
    positions: { file: '', syncIntervalSeconds: 1 },
    tail: { pollIntervalMillis: 100, maxLineBytes: 1024 * 1024 },
    attribution: {
      windowSeconds: 1800,
      maxPendingLists: 1_000_000,
      k: [5, 10],
      holdFeedbackSeconds: 5,
      maxHeldFeedback: 100_000,
    },
    window: { seconds: 300 },
    limits: { maxLabelSets: 500, maxOutcomesPerLabelSet: 16 },
    probes: [],
    remediation: defaultRemediationConfig(),
    host: {
      enabled: true,
      intervalSeconds: 5,
      networkDeviceExclude: '^(lo|veth.*|docker.*|br-.*)$',
    },
  };
}
