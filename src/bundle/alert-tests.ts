/**
 * promtool unit tests for the rule files: for every alert one series set
 * that fires, checked one evaluation before and exactly at its `for`
 * duration, and one that stays quiet; plus recording-rule values worked
 * out by hand. Series levels are derived from the configured thresholds.
 */
import {
  LATENCY_BUCKETS_SECONDS,
  attribution,
  host,
  ingest,
  quality,
  serving,
} from '../metrics/definitions.js';
import {
  alertSpecs,
  bytesPerSecond,
  percent,
  runbookAnchor,
} from './alerts.js';
import type { BundleConfig } from './config.js';
import { selectorLabels } from './promql.js';
import { recorded } from './recording.js';

type Labels = Record<string, string>;

interface InputSeries {
  series: string;
  values: string;
}

interface ExpectedAlert {
  exp_labels: Labels;
  exp_annotations: Labels;
}

interface AlertCase {
  alert: string;
  name: string;
  series: InputSeries[];
  /** Minute at which the condition first holds. */
  onsetMinute: number;
  /** Labels and description of each alert expected to fire. */
  expected: Array<{ labels: Labels; description: string }>;
  quiet: InputSeries[];
}

const INSTANCE = 'exporter-1:10464';
const MODEL = { model: 'ranker', version: 'v2', scene: 'home' };
const MODEL_TEXT = 'model ranker version v2 in scene home';

/** `name{a="b",...}` with labels in the given order. */
function text(name: string, labels: Labels): string {
  const inside = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${name}{${inside}}`;
}

/** A counter growing by `perMinute` a minute from 0. */
function counter(
  name: string,
  labels: Labels,
  perMinute: number,
  minutes: number,
): InputSeries {
  return { series: text(name, labels), values: `0+${perMinute}x${minutes}` };
}

function gauge(
  name: string,
  labels: Labels,
  value: number,
  minutes: number,
): InputSeries {
  return { series: text(name, labels), values: `${value}x${minutes}` };
}

/** Minutes in a duration such as `5m`, `2h` or `1d`. */
export function durationMinutes(duration: string): number {
  const match = /^([0-9]+)(s|m|h|d|w)$/.exec(duration);
  if (!match)
    throw new Error(`duration "${duration}" has no whole-minute form`);
  const scale = { s: 1 / 60, m: 1, h: 60, d: 1440, w: 10080 }[match[2] as 's'];
  return Number(match[1]) * scale;
}

/** Go's `%.4g`, which humanize and humanizePercentage print with. */
function g4(value: number): string {
  return String(Number(value.toPrecision(4)));
}

/** Where promtool reads the rules from, and in which order to run them. */
export interface RuleSource {
  ruleFiles: string[];
  /**
   * Group names, recording groups first. Without an order promtool runs
   * groups in random order and an alert may see a recorded series one
   * evaluation late.
   */
  groupOrder: string[];
}

/**
 * The promtool test file for the alert rules. The week-long drop test
 * evaluates every 5 minutes so the file stays quick; `slow` picks it.
 */
export function alertTestFile(
  config: BundleConfig,
  rules: RuleSource,
  slow: boolean,
): object {
  const cases = alertCases(config).filter(
    (c) => (c.alert === 'InferenceQPSDrop') === slow,
  );
  const stepMinutes = slow ? 5 : 1;
  return {
    rule_files: rules.ruleFiles,
    evaluation_interval: `${stepMinutes}m`,
    group_eval_order: rules.groupOrder,
    tests: cases.flatMap((c) => toTests(c, config, stepMinutes)),
  };
}

/** Throws unless every alert has a test case. */
export function checkAlertCoverage(config: BundleConfig): void {
  const covered = new Set(alertCases(config).map((c) => c.alert));
  for (const spec of alertSpecs(config)) {
    if (!covered.has(spec.alert))
      throw new Error(`alert ${spec.alert} has no test case`);
  }
}

function toTests(
  c: AlertCase,
  config: BundleConfig,
  stepMinutes: number,
): object[] {
  const spec = alertSpecs(config).find((s) => s.alert === c.alert)!;
  const fireAt = c.onsetMinute + durationMinutes(spec.for);
  const annotations = (description: string) => ({
    summary: spec.summary,
    description,
    runbook_url: `${config.runbookBaseUrl}#${runbookAnchor(c.alert)}`,
  });
  const check = (minute: number, alerts: ExpectedAlert[]) => ({
    eval_time: `${minute}m`,
    alertname: c.alert,
    exp_alerts: alerts,
  });
  const firing = c.expected.map((e) => ({
    exp_labels: e.labels,
    exp_annotations: annotations(e.description),
  }));
  return [
    {
      name: `${c.alert} ${c.name}: quiet just before ${spec.for}, firing at it`,
      interval: '1m',
      input_series: c.series,
      alert_rule_test: [check(fireAt - stepMinutes, []), check(fireAt, firing)],
    },
    {
      name: `${c.alert} ${c.name}: stays quiet below the threshold`,
      interval: '1m',
      input_series: c.quiet,
      alert_rule_test: [check(fireAt, [])],
    },
  ];
}

function alertCases(c: BundleConfig): AlertCase[] {
  return [
    ...availabilityCases(c),
    qpsDropCase(c),
    ...servingCases(c),
    ...qualityCases(c),
    ...hostCases(c),
    ...ingestionCases(c),
  ];
}

function exporterLabels(c: BundleConfig): Labels {
  return { ...selectorLabels(c.exporterSelector), instance: INSTANCE };
}

function availabilityCases(c: BundleConfig): AlertCase[] {
  const job = exporterLabels(c);
  const probe = { ...job, target: c.modelServerTarget };
  return [
    {
      alert: 'InferenceExporterDown',
      name: 'scrape failing',
      series: [gauge('up', job, 0, 20)],
      onsetMinute: 0,
      expected: [
        {
          labels: { ...job, severity: 'critical', team: c.platformTeam },
          description: `Prometheus has not scraped the exporter at ${INSTANCE} (job ${job.job}) for ${c.exporterDownFor}; its request, latency and quality metrics are missing.`,
        },
      ],
      quiet: [gauge('up', job, 1, 20)],
    },
    {
      alert: 'InferenceModelServerDown',
      name: 'probe failing',
      series: [gauge(c.probeUpMetric, probe, 0, 20)],
      onsetMinute: 0,
      expected: [
        {
          labels: {
            ...probe,
            severity: 'critical',
            team: c.modelTeam,
            action: 'restart',
          },
          description: `The health probe of ${c.modelServerTarget}, run by the exporter at ${INSTANCE}, has failed for ${c.modelServerDownFor}.`,
        },
      ],
      quiet: [gauge(c.probeUpMetric, probe, 1, 20)],
    },
  ];
}

/**
 * Steady traffic for a week and a quarter hour, then none. The window rate
 * falls by one window-minute's share per minute, so the ratio to the past
 * first drops below the threshold `onset` minutes after the stop; the stop
 * is placed so that this lands on the 5-minute evaluation grid.
 */
function qpsDropCase(c: BundleConfig): AlertCase {
  const labels = { ...exporterLabels(c), ...MODEL, outcome: 'ok' };
  const windowMinutes = durationMinutes(c.alertWindow);
  let onset = 0;
  while ((windowMinutes - onset) / windowMinutes >= c.qpsDropThreshold) onset++;
  const stopMinute = 10080 + 15 - onset;
  const traffic = (perSecond: number): InputSeries[] => {
    const perMinute = perSecond * 60;
    const last = perMinute * stopMinute;
    return [
      {
        series: text(serving.requests.name, labels),
        values: `0+${perMinute}x${stopMinute} ${last}x60`,
      },
    ];
  };
  return {
    alert: 'InferenceQPSDrop',
    name: 'traffic stops',
    series: traffic(c.qpsDropFloorThreshold * 10),
    onsetMinute: stopMinute + onset,
    expected: [
      {
        labels: {
          model: MODEL.model,
          scene: MODEL.scene,
          severity: 'critical',
          team: c.modelTeam,
          action: 'failover',
        },
        description: `Requests to model ${MODEL.model} in scene ${MODEL.scene} are at 0% of the rate one day earlier, and below ${percent(c.qpsDropThreshold)} of the rates one day and one week earlier.`,
      },
    ],
    // Quiet hours: the same stop from a rate under the floor.
    quiet: traffic(c.qpsDropFloorThreshold / 2),
  };
}

function servingCases(c: BundleConfig): AlertCase[] {
  const base = { ...exporterLabels(c), ...MODEL };
  const outcomes = (failedPerMinute: number) => [
    counter(
      serving.requests.name,
      { ...base, outcome: 'ok' },
      240 - failedPerMinute,
      40,
    ),
    counter(
      serving.requests.name,
      { ...base, outcome: 'timeout' },
      failedPerMinute,
      40,
    ),
  ];
  const failedShare =
    c.errorRatioThreshold < 0.25 ? 0.25 : (1 + c.errorRatioThreshold) / 2;
  const modelAlert = (severity: string) => ({
    ...MODEL,
    severity,
    team: c.modelTeam,
  });
  const latency = latencyBuckets(c, base);
  return [
    {
      alert: 'InferenceErrorRatioHigh',
      name: 'timeouts',
      series: outcomes(240 * failedShare),
      onsetMinute: 1,
      expected: [
        {
          labels: modelAlert('critical'),
          description: `${g4(failedShare * 100)}% of requests to ${MODEL_TEXT} failed over the last ${c.alertWindow} (threshold ${percent(c.errorRatioThreshold)}).`,
        },
      ],
      // No failed series at all: the ratio must still read 0, not vanish.
      quiet: [
        counter(serving.requests.name, { ...base, outcome: 'ok' }, 240, 40),
      ],
    },
    {
      alert: 'InferenceLatencyP99High',
      name: 'slow bucket',
      series: latency.slow,
      onsetMinute: 1,
      expected: [
        {
          labels: modelAlert('warning'),
          description: `p99 latency of ${MODEL_TEXT} is ${g4(latency.p99)}s over the last ${c.alertWindow} (threshold ${c.latencyP99Threshold}s).`,
        },
      ],
      quiet: latency.fast,
    },
  ];
}

/**
 * All observations in the first bucket starting at or above the threshold,
 * so p99 interpolates to 99% of the way through that bucket; or all in the
 * lowest bucket for the quiet case.
 */
function latencyBuckets(c: BundleConfig, base: Labels) {
  const bounds = [...LATENCY_BUCKETS_SECONDS];
  const lower = bounds.findIndex((b) => b >= c.latencyP99Threshold);
  if (lower < 0 || lower === bounds.length - 1) {
    throw new Error(
      'latencyP99Threshold must lie below the second-largest latency bucket',
    );
  }
  const from = bounds[lower]!;
  const to = bounds[lower + 1]!;
  const buckets = (firstFilled: number) =>
    [...bounds.map(String), '+Inf'].map((le, i) =>
      counter(
        `${serving.duration.name}_bucket`,
        { ...base, le },
        i >= firstFilled ? 60 : 0,
        40,
      ),
    );
  return {
    slow: buckets(lower + 1),
    fast: buckets(0),
    p99: from + (to - from) * 0.99,
  };
}

function qualityCases(c: BundleConfig): AlertCase[] {
  const base = { ...exporterLabels(c), ...MODEL };
  const counts = (recommended: number, relevant: number) => [
    counter(quality.hits.name, base, 1, 40),
    counter(quality.recommended.name, base, recommended, 40),
    counter(quality.relevant.name, base, relevant, 40),
  ];
  const measure = (
    alert: string,
    label: string,
    threshold: number,
    low: InputSeries[],
    high: InputSeries[],
  ): AlertCase => ({
    alert,
    name: 'few hits',
    series: low,
    onsetMinute: 1,
    expected: [
      {
        labels: { ...MODEL, severity: 'warning', team: c.modelTeam },
        description: `${label} of ${MODEL_TEXT} is ${percent(threshold / 2)} over the last ${c.alertWindow}, below the baseline of ${percent(threshold)}.`,
      },
    ],
    quiet: high,
  });
  // One hit a minute; the other counter sets the ratio to half or twice
  // the threshold. Equal precision and recall make F1 equal to both.
  const few = (t: number) => 2 / t;
  const many = (t: number) => 1 / (2 * t);
  const p = c.precisionThreshold;
  const r = c.recallThreshold;
  const f = c.f1Threshold;
  return [
    measure(
      'InferencePrecisionLow',
      'Precision',
      p,
      counts(few(p), 1),
      counts(many(p), 1),
    ),
    measure(
      'InferenceRecallLow',
      'Recall',
      r,
      counts(1, few(r)),
      counts(1, many(r)),
    ),
    measure(
      'InferenceF1Low',
      'F1',
      f,
      counts(few(f), few(f)),
      counts(many(f), many(f)),
    ),
  ];
}

function hostCases(c: BundleConfig): AlertCase[] {
  const job = exporterLabels(c);
  const cpu = (value: number) => [
    gauge(host.cpuUtilization.name, job, value, 40),
  ];
  const cpuAlert = (severity: string, threshold: number, value: number) => ({
    labels: { ...job, severity, team: c.platformTeam },
    description: `CPU of host ${INSTANCE} is ${g4(value * 100)}% busy (threshold ${percent(threshold)}).`,
  });
  const warnLevel =
    (c.hostCpuWarningThreshold + c.hostCpuCriticalThreshold) / 2;
  const critLevel = (c.hostCpuCriticalThreshold + 1) / 2;
  const memory = (c.hostMemoryThreshold + 1) / 2;
  return [
    {
      alert: 'InferenceHostCPUHigh',
      name: 'warning level',
      series: cpu(warnLevel),
      onsetMinute: 0,
      expected: [cpuAlert('warning', c.hostCpuWarningThreshold, warnLevel)],
      quiet: cpu(c.hostCpuWarningThreshold / 2),
    },
    {
      alert: 'InferenceHostCPUHigh',
      name: 'critical level',
      series: cpu(critLevel),
      onsetMinute: 0,
      expected: [
        cpuAlert('warning', c.hostCpuWarningThreshold, critLevel),
        cpuAlert('critical', c.hostCpuCriticalThreshold, critLevel),
      ],
      quiet: cpu(c.hostCpuWarningThreshold / 2),
    },
    {
      alert: 'InferenceHostMemoryHigh',
      name: 'memory nearly full',
      series: [gauge(host.memoryUtilization.name, job, memory, 40)],
      onsetMinute: 0,
      expected: [
        {
          labels: { ...job, severity: 'warning', team: c.platformTeam },
          description: `Memory of host ${INSTANCE} is ${g4(memory * 100)}% used (threshold ${percent(c.hostMemoryThreshold)}).`,
        },
      ],
      quiet: [
        gauge(host.memoryUtilization.name, job, c.hostMemoryThreshold / 2, 40),
      ],
    },
    networkCase(c),
  ];
}

/**
 * A receive counter from 0: its window rate reaches full height only once
 * the window is covered, (m / window) of it at minute m. The share is
 * chosen so that one minute earlier it is still at or under the threshold.
 */
function networkCase(c: BundleConfig): AlertCase {
  const labels = { ...exporterLabels(c), device: 'eth0' };
  const windowMinutes = durationMinutes(c.alertWindow);
  const threshold = c.networkSaturationThreshold;
  const share = Math.min(1, threshold * (1 + 1 / (2 * (windowMinutes - 1))));
  const bytesPerMinute = (s: number) =>
    s * c.networkLinkCapacityBytesPerSecond * 60;
  const traffic = (s: number) => [
    counter(host.networkReceive.name, labels, bytesPerMinute(s), 40),
    counter(host.networkTransmit.name, labels, 60, 40),
  ];
  return {
    alert: 'InferenceHostNetworkSaturated',
    name: 'receive near capacity',
    series: traffic(share),
    onsetMinute: windowMinutes,
    expected: [
      {
        labels: {
          ...labels,
          direction: 'receive',
          severity: 'warning',
          team: c.platformTeam,
        },
        description: `The receive rate of eth0 on host ${INSTANCE} is ${g4(share * 100)}% of the ${bytesPerSecond(c.networkLinkCapacityBytesPerSecond)} link (threshold ${percent(threshold)}).`,
      },
    ],
    quiet: traffic(threshold / 2),
  };
}

/** Go's humanizeDuration for whole seconds of a minute or more. */
function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m ${s}s` : `${m}m ${s}s`;
}

function ingestionCases(c: BundleConfig): AlertCase[] {
  const job = exporterLabels(c);
  const platform = (extra: Labels = {}) => ({
    ...extra,
    severity: 'warning',
    team: c.platformTeam,
  });
  // A last-line time of 0 is `t` seconds old at minute t; it first
  // exceeds the threshold at the next whole minute.
  const stalledOnset = Math.floor(c.logStalledThreshold / 60) + 1;
  const stalledFire = stalledOnset + durationMinutes(c.logStalledFor);
  const lines = (malformedShare: number) => [
    counter(
      ingest.lines.name,
      { ...job, result: 'parsed', reason: 'ok' },
      100 * (1 - malformedShare),
      40,
    ),
    counter(
      ingest.lines.name,
      { ...job, result: 'malformed', reason: 'not_json' },
      100 * malformedShare,
      40,
    ),
  ];
  const malformed = Math.min(1, c.malformedLinesThreshold * 2);
  return [
    {
      alert: 'InferenceLogIngestionStalled',
      name: 'no new lines',
      series: [
        gauge(ingest.lastLine.name, job, 0, 60),
        gauge('up', job, 1, 60),
      ],
      onsetMinute: stalledOnset,
      expected: [
        {
          labels: { ...job, ...platform() },
          description: `The exporter at ${INSTANCE} processed its last log line ${goDuration(stalledFire * 60)} ago (threshold ${c.logStalledThreshold}s).`,
        },
      ],
      quiet: [
        { series: text(ingest.lastLine.name, job), values: '0+60x60' },
        gauge('up', job, 1, 60),
      ],
    },
    {
      alert: 'InferenceMalformedLinesRising',
      name: 'unparseable lines',
      series: lines(malformed),
      onsetMinute: 1,
      expected: [
        {
          labels: { ...job, ...platform() },
          description: `${g4(malformed * 100)}% of input lines at the exporter ${INSTANCE} were malformed over the last ${c.alertWindow} (threshold ${percent(c.malformedLinesThreshold)}).`,
        },
      ],
      quiet: lines(c.malformedLinesThreshold / 2),
    },
    ...feedbackCases(c, job, platform),
  ];
}

function feedbackCases(
  c: BundleConfig,
  job: Labels,
  platform: (extra?: Labels) => Labels,
): AlertCase[] {
  const feedback = (attributionKind: string, perMinute: number) =>
    counter(
      attribution.feedback.name,
      { ...job, action: 'click', attribution: attributionKind },
      perMinute,
      60,
    );
  const unmatchedShare = (1 + c.feedbackUnmatchedThreshold) / 2;
  // Requests far above the floor, so even the first, partly covered
  // window rate is above it.
  const requests = counter(
    serving.requests.name,
    { ...job, ...MODEL, outcome: 'ok' },
    c.feedbackRequestsFloorThreshold * 60 * 100,
    60,
  );
  const healthy = [feedback('none', 10), feedback('request', 50), requests];
  return [
    {
      alert: 'InferenceFeedbackJoinCollapsing',
      name: 'mostly unmatched',
      series: [
        feedback('none', 100 * unmatchedShare),
        feedback('request', 100 * (1 - unmatchedShare)),
      ],
      onsetMinute: 1,
      expected: [
        {
          labels: platform({ symptom: 'unmatched' }),
          description: `${g4(unmatchedShare * 100)}% of feedback events over the last ${c.feedbackWindow} matched no recommended list (threshold ${percent(c.feedbackUnmatchedThreshold)}); quality metrics are starved.`,
        },
      ],
      quiet: healthy,
    },
    {
      alert: 'InferenceFeedbackJoinCollapsing',
      name: 'matching stopped',
      series: [
        {
          series: text(attribution.feedback.name, {
            ...job,
            action: 'click',
            attribution: 'request',
          }),
          values: '500x60',
        },
        requests,
      ],
      onsetMinute: 1,
      expected: [
        {
          labels: platform({ symptom: 'stopped' }),
          description: `Matched feedback fell to 0 events/s over the last ${c.feedbackWindow} while requests keep flowing; quality metrics are starved.`,
        },
      ],
      quiet: healthy,
    },
  ];
}

/**
 * Recorded values worked out by hand, at minute 10 over the alert window.
 * Two exporters with different precision show the ratio is of summed
 * rates: their mean precision would be (3/60 + 9/20) / 2 = 0.25, the
 * recorded one is (3 + 9) / (60 + 20) = 0.15.
 */
export function recordingTestFile(
  config: BundleConfig,
  rules: RuleSource,
): object {
  const w = config.alertWindow;
  const job = selectorLabels(config.exporterSelector);
  const a = { ...job, instance: 'exporter-a:10464', ...MODEL };
  const b = { ...job, instance: 'exporter-b:10464', ...MODEL };
  const k5 = { k: '5' };
  const input = [
    counter(quality.hits.name, a, 3, 20),
    counter(quality.recommended.name, a, 60, 20),
    counter(quality.relevant.name, a, 6, 20),
    counter(quality.hits.name, b, 9, 20),
    counter(quality.recommended.name, b, 20, 20),
    counter(quality.relevant.name, b, 18, 20),
    counter(quality.dcgAtK.name, { ...a, ...k5 }, 1.5, 20),
    counter(quality.idealDcgAtK.name, { ...a, ...k5 }, 3, 20),
    counter(quality.dcgAtK.name, { ...b, ...k5 }, 0.5, 20),
    counter(quality.idealDcgAtK.name, { ...b, ...k5 }, 1, 20),
    counter(quality.listsHitAtK.name, { ...a, ...k5 }, 2, 20),
    counter(quality.lists.name, a, 10, 20),
    counter(quality.listsHitAtK.name, { ...b, ...k5 }, 4, 20),
    counter(quality.lists.name, b, 10, 20),
    counter(serving.requests.name, { ...a, outcome: 'ok' }, 57, 20),
    counter(serving.requests.name, { ...a, outcome: 'error' }, 2, 20),
    counter(serving.requests.name, { ...b, outcome: 'timeout' }, 1, 20),
  ];
  // Sums over series run in no fixed order, so the last bit of a float
  // may differ between runs: values are compared in millionths.
  const check = (name: string, labels: Labels, value: number) => ({
    expr: `round(${name} * 1e6)`,
    eval_time: '10m',
    exp_samples: [{ labels: text('', labels), value: Math.round(value * 1e6) }],
  });
  const modelK = { k: '5', ...MODEL };
  return {
    rule_files: rules.ruleFiles,
    evaluation_interval: '1m',
    group_eval_order: rules.groupOrder,
    tests: [
      {
        name: 'ratios are of rates summed over exporters',
        interval: '1m',
        input_series: input,
        promql_expr_test: [
          // 60 requests a minute in all.
          check(recorded.requestRate(w), MODEL, 1),
          // (2 error + 1 timeout) / 60.
          check(recorded.errorRatio(w), MODEL, 0.05),
          // (3 + 9) / (60 + 20).
          check(recorded.precision(w), MODEL, 0.15),
          // (3 + 9) / (6 + 18).
          check(recorded.recall(w), MODEL, 0.5),
          // 2 * 0.15 * 0.5 / 0.65 = 3/13 = 0.230769...
          check(recorded.f1(w), MODEL, 3 / 13),
          // (1.5 + 0.5) / (3 + 1).
          check(recorded.ndcgAtK(w), modelK, 0.5),
          // (2 + 4) / (10 + 10).
          check(recorded.hitRateAtK(w), modelK, 0.3),
        ],
      },
    ],
  };
}
