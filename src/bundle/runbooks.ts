/**
 * docs/runbooks.md: one section per alert, with the heading equal to the
 * alert name so the anchor matches each rule's runbook_url.
 */
import { alertNames, alertSpecs } from './alerts.js';
import type { BundleConfig } from './config.js';

interface Runbook {
  meaning: string;
  impact: string;
  diagnosis: string[];
  mitigation: string[];
}

const RUNBOOKS: Record<string, Runbook> = {
  InferenceExporterDown: {
    meaning: 'Prometheus cannot scrape the inference exporter.',
    impact:
      'Request, latency and quality figures stop; every other inference alert goes blind.',
    diagnosis: [
      'Open Prometheus, Status > Targets, and read the scrape error of the exporter job.',
      'Check that the exporter process runs and listens on its port (10464 by default).',
      'Read the exporter log for a configuration error at start.',
    ],
    mitigation: [
      'Restart the exporter; its positions file resumes tailing where it stopped.',
      'Fix the configuration key the startup error names.',
    ],
  },
  InferenceModelServerDown: {
    meaning: 'The health probe of the model server fails.',
    impact:
      'Users get errors or fallback results; quality and traffic alerts for the model are silenced while this fires.',
    diagnosis: [
      'Check the model server process and its own /metrics scrape (job model-server).',
      'Read the model server log around the time the probe started failing.',
    ],
    mitigation: [
      'The alert carries action=restart and is sent to the remediation webhook, which may restart the server.',
      'If it keeps failing, roll back to the previous model version.',
    ],
  },
  InferenceQPSDrop: {
    meaning:
      'Requests to a model and scene fell well below the same time one day and one week earlier.',
    impact:
      'Users may not reach the model: a broken client, a routing change or an outage upstream.',
    diagnosis: [
      'Compare the Requests per second panel with the previous day.',
      'Check the error ratio; a rise there points at the model server, none at routing.',
      'Check whether the log is still written and read (InferenceLogIngestionStalled).',
    ],
    mitigation: [
      'The alert carries action=failover; the remediation webhook may shift traffic to the standby.',
      'Revert a recent routing or client release.',
    ],
  },
  InferenceErrorRatioHigh: {
    meaning: 'A large share of requests ends in an error or a timeout outcome.',
    impact: 'Users get no recommendations or fallback lists.',
    diagnosis: [
      'Open the model dashboard, Requests by outcome, to see which outcome grows.',
      'Timeouts with high p99 latency point at load; errors alone point at the model or its data.',
    ],
    mitigation: [
      'Roll back a version released recently.',
      'Add capacity when timeouts follow load.',
    ],
  },
  InferenceLatencyP99High: {
    meaning: 'The slowest one percent of requests exceed the latency budget.',
    impact: 'Pages wait for recommendations or render without them.',
    diagnosis: [
      'Compare versions on the model dashboard latency panel.',
      'Check host CPU and memory of the serving hosts.',
    ],
    mitigation: ['Add replicas or roll back the slower version.'],
  },
  InferencePrecisionLow: {
    meaning:
      'Few recommended items are acted on: hits over recommended items fell below the baseline.',
    impact: 'Recommendations are less useful; conversions may drop.',
    diagnosis: [
      'Check whether a new version or a change of the feature data came before the fall.',
      'Check InferenceFeedbackJoinCollapsing: lost feedback looks like lost precision.',
    ],
    mitigation: [
      'Roll back to the version with the better precision.',
      'Retrain when the data shifted.',
    ],
  },
  InferenceRecallLow: {
    meaning:
      'Few of the items users acted on had been recommended: hits over relevant items fell below the baseline.',
    impact:
      'Users find what they want elsewhere on the page; recommendation reach shrinks.',
    diagnosis: [
      'Compare recall at each k on the model dashboard.',
      'Check whether lists became shorter (Items returned per request).',
    ],
    mitigation: ['Roll back the version, or restore the list length.'],
  },
  InferenceF1Low: {
    meaning:
      'The harmonic mean of precision and recall fell below the baseline.',
    impact: 'Overall recommendation quality is down.',
    diagnosis: ['Read precision and recall separately to see which one fell.'],
    mitigation: ['Follow the runbook of the measure that fell.'],
  },
  InferenceHostCPUHigh: {
    meaning: 'The host running the model is busy most of the time.',
    impact: 'Latency rises and requests may time out.',
    diagnosis: [
      'Find the busiest process on the host.',
      'Compare with request rate: is it load or a regression?',
    ],
    mitigation: ['Add capacity or move work off the host.'],
  },
  InferenceHostMemoryHigh: {
    meaning: 'Little memory is left on the host.',
    impact: 'The model server may be killed or swap, and latency rises.',
    diagnosis: [
      'Check the model server memory for growth over days (a leak) or a step (a bigger model).',
    ],
    mitigation: [
      'Restart the leaking process; give the host more memory for a larger model.',
    ],
  },
  InferenceHostNetworkSaturated: {
    meaning: 'A network interface moves close to its link capacity.',
    impact: 'Requests queue and time out; scrapes may fail.',
    diagnosis: [
      'Find which direction and interface; look for large responses or bulk copies.',
    ],
    mitigation: [
      'Move bulk transfers off peak hours or spread traffic over more hosts.',
    ],
  },
  InferenceLogIngestionStalled: {
    meaning: 'The exporter is up but has processed no log line for a while.',
    impact:
      'Traffic and quality figures flatline although the model may be serving.',
    diagnosis: [
      'Check that the model server still writes its log at the configured path.',
      'Check rotations and tail errors (inference_log_rotations_total, inference_log_errors_total).',
    ],
    mitigation: [
      'Fix the log path or permissions; restart the exporter after a path change.',
    ],
  },
  InferenceMalformedLinesRising: {
    meaning: 'Many input lines cannot be parsed into events.',
    impact: 'Requests and feedback in those lines are not counted.',
    diagnosis: [
      'Read the reason label on the model dashboard, Input lines by result.',
      'Compare a log line with the configured field mapping; a release may have renamed a field.',
    ],
    mitigation: [
      'Update the field mapping in the exporter configuration, or revert the log format.',
    ],
  },
  InferenceFeedbackJoinCollapsing: {
    meaning:
      'Feedback no longer joins the recommendation it follows: most of it matches no list, or matched feedback stopped while requests flow.',
    impact:
      'Precision, recall and NDCG are computed from too little feedback and mislead.',
    diagnosis: [
      'symptom=unmatched: check that feedback still carries the request id or user key the join needs.',
      'symptom=stopped: check that the feedback log is still read.',
      'Check the attribution window against the usual delay between a list and a click.',
    ],
    mitigation: [
      'Restore the missing join key in the feedback log, or lengthen the attribution window.',
    ],
  },
};

/** The runbook document; throws when an alert has no section. */
export function runbooksMarkdown(config: BundleConfig): string {
  const sections = alertNames(config).map((name) => section(name, config));
  return [
    '# Runbooks',
    '',
    'One section per alert. This file is generated by `npm run bundle` from `src/bundle/runbooks.ts`; edit that file, not this one.',
    '',
    'Severities: **critical** pages a person, **warning** goes to the team queue, **info** only helps troubleshooting.',
    '',
    ...sections,
  ].join('\n');
}

function section(name: string, config: BundleConfig): string {
  const runbook = RUNBOOKS[name];
  if (!runbook) throw new Error(`alert ${name} has no runbook section`);
  const specs = alertSpecs(config).filter((s) => s.alert === name);
  const severities = [...new Set(specs.map((s) => s.severity))].join(', ');
  const action = specs.find((s) => s.action)?.action;
  return [
    `## ${name}`,
    '',
    `Severity: ${severities}. Team: ${specs[0]!.team}.${action ? ` Remediation action: \`${action}\`.` : ''}`,
    '',
    `**Meaning.** ${runbook.meaning}`,
    '',
    `**Impact.** ${runbook.impact}`,
    '',
    '**Diagnosis.**',
    '',
    ...runbook.diagnosis.map((step) => `- ${step}`),
    '',
    '**Mitigation.**',
    '',
    ...runbook.mitigation.map((step) => `- ${step}`),
    '',
  ].join('\n');
}
