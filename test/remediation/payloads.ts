/**
 * Webhook bodies shaped as Alertmanager sends them. The structure (version
 * "4", groupKey, truncatedAlerts, status, receiver, groupLabels,
 * commonLabels, commonAnnotations, externalURL, and alerts with status,
 * labels, annotations, startsAt, endsAt, generatorURL and fingerprint)
 * follows the `<webhook_config>` section of the Alertmanager configuration
 * reference, https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 * (docs/configuration.md in prometheus/alertmanager). Label sets are those
 * of the generated rules in prometheus/rules/inference-alerts.yml; firing
 * alerts carry Alertmanager's zero time `0001-01-01T00:00:00Z` as endsAt.
 */

export interface AlertInput {
  status?: 'firing' | 'resolved';
  labels: Record<string, string>;
  fingerprint?: string;
  startsAt?: string;
}

/** Labels of InferenceModelServerDown for one probed target. */
export function modelServerDown(
  target = 'model-server:8080',
): Record<string, string> {
  return {
    alertname: 'InferenceModelServerDown',
    action: 'restart',
    instance: 'inference-exporter:10464',
    job: 'inference-exporter',
    severity: 'critical',
    target,
    team: 'recsys',
  };
}

/** Labels of InferenceQPSDrop for one model and scene. */
export function qpsDrop(
  model = 'item-cf',
  scene = 'homepage',
): Record<string, string> {
  return {
    alertname: 'InferenceQPSDrop',
    action: 'failover',
    model,
    scene,
    severity: 'critical',
    team: 'recsys',
  };
}

const ANNOTATIONS: Record<string, Record<string, string>> = {
  InferenceModelServerDown: {
    summary: 'The model server fails its health probe.',
    description:
      'The health probe of model-server:8080, run by the exporter at inference-exporter:10464, has failed for 2m.',
    runbook_url: 'docs/runbooks.md#inferencemodelserverdown',
  },
  InferenceQPSDrop: {
    summary:
      'Requests to a model fell far below the same time yesterday and last week.',
    runbook_url: 'docs/runbooks.md#inferenceqpsdrop',
  },
};

function groupKeyOf(labels: Record<string, string>): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`);
  return `{}/{action=~"restart|failover"}:{${pairs.join(', ')}}`;
}

/** Labels every alert carries with the same value. */
function common(alerts: AlertInput[]): Record<string, string> {
  const first = alerts[0]?.labels ?? {};
  return Object.fromEntries(
    Object.entries(first).filter(([k, v]) =>
      alerts.every((a) => a.labels[k] === v),
    ),
  );
}

/**
 * One webhook body holding `alerts`. The remediation route groups by all
 * labels (`group_by: ['...']`), so groupLabels are the first alert's.
 */
export function webhookBody(alerts: AlertInput[]): Record<string, unknown> {
  const first = alerts[0]?.labels ?? {};
  const shared = common(alerts);
  const anyFiring = alerts.some((a) => (a.status ?? 'firing') === 'firing');
  return {
    receiver: 'remediation',
    status: anyFiring ? 'firing' : 'resolved',
    alerts: alerts.map((a, i) => {
      const status = a.status ?? 'firing';
      return {
        status,
        labels: a.labels,
        annotations: ANNOTATIONS[a.labels.alertname ?? ''] ?? {},
        startsAt: a.startsAt ?? '2026-12-04T09:58:00.123456789Z',
        endsAt:
          status === 'firing'
            ? '0001-01-01T00:00:00Z'
            : '2026-12-04T10:14:00.5Z',
        generatorURL:
          'http://prometheus:9090/graph?g0.expr=inference_probe_up%7Bjob%3D%22inference-exporter%22%7D+%3D%3D+0&g0.tab=1',
        fingerprint: a.fingerprint ?? `a1b2c3d4e5f6a7b${i}`,
      };
    }),
    groupLabels: first,
    commonLabels: shared,
    commonAnnotations: ANNOTATIONS[shared.alertname ?? ''] ?? {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: groupKeyOf(first),
    truncatedAlerts: 0,
  };
}
