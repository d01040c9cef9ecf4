/**
 * alertmanager.yml: routes by remediation action, severity and team;
 * inhibitions; mail, pager webhook and remediation webhook receivers.
 */
import { alertNames } from './alerts.js';
import { SEVERITY, type BundleConfig } from './config.js';

/** Receiver names, referenced by routes and tests. */
export const RECEIVERS = {
  remediation: 'remediation',
  pager: 'pager',
  silent: 'silent',
  modelTeamEmail: 'model-team-email',
  platformTeamEmail: 'platform-team-email',
} as const;

/** Alerts a down model server makes meaningless. */
const FOLLOWS_MODEL_SERVER_DOWN = [
  'InferenceQPSDrop',
  'InferenceErrorRatioHigh',
  'InferencePrecisionLow',
  'InferenceRecallLow',
  'InferenceF1Low',
];

/** The Alertmanager configuration. */
export function alertmanagerConfig(config: BundleConfig): object {
  const known = new Set(alertNames(config));
  for (const name of [
    ...FOLLOWS_MODEL_SERVER_DOWN,
    'InferenceModelServerDown',
  ]) {
    if (!known.has(name))
      throw new Error(`inhibit rule names unknown alert ${name}`);
  }
  return {
    global: {
      smtp_smarthost: config.smtpSmarthost,
      smtp_from: config.emailFrom,
      smtp_require_tls: config.smtpRequireTls,
    },
    route: routeTree(config),
    inhibit_rules: inhibitRules(config),
    receivers: receivers(config),
  };
}

function routeTree(config: BundleConfig): object {
  return {
    receiver: RECEIVERS.platformTeamEmail,
    group_by: ['alertname', 'model', 'version', 'scene', 'instance'],
    group_wait: '30s',
    group_interval: '5m',
    repeat_interval: '4h',
    routes: [
      {
        // Remediation acts at once and alone per alert; `continue` lets
        // the same alert still reach people below.
        receiver: RECEIVERS.remediation,
        matchers: ['action=~"restart|failover"'],
        group_by: ['...'],
        group_wait: '0s',
        repeat_interval: '30m',
        continue: true,
      },
      {
        receiver: RECEIVERS.pager,
        matchers: [`severity="${SEVERITY.critical}"`],
        continue: true,
      },
      { receiver: RECEIVERS.silent, matchers: [`severity="${SEVERITY.info}"`] },
      {
        receiver: RECEIVERS.modelTeamEmail,
        matchers: [`team="${config.modelTeam}"`],
      },
      {
        receiver: RECEIVERS.platformTeamEmail,
        matchers: [`team="${config.platformTeam}"`],
      },
    ],
  };
}

function inhibitRules(config: BundleConfig): object[] {
  return [
    {
      source_matchers: ['alertname="InferenceModelServerDown"'],
      target_matchers: [`alertname=~"${FOLLOWS_MODEL_SERVER_DOWN.join('|')}"`],
      equal: config.modelServerInhibitEqual,
    },
    {
      // Labels absent on both alerts count as equal, so one rule covers
      // host, model and exporter alerts alike.
      source_matchers: [`severity="${SEVERITY.critical}"`],
      target_matchers: [`severity="${SEVERITY.warning}"`],
      equal: ['alertname', 'instance', 'model', 'version', 'scene'],
    },
  ];
}

function receivers(config: BundleConfig): object[] {
  const email = (name: string, to: string) => ({
    name,
    email_configs: [{ to, send_resolved: true }],
  });
  return [
    {
      name: RECEIVERS.remediation,
      // Remediation acts on firing alerts only.
      webhook_configs: [
        { url: config.remediationWebhookUrl, send_resolved: false },
      ],
    },
    {
      name: RECEIVERS.pager,
      webhook_configs: [{ url: config.pagerWebhookUrl, send_resolved: true }],
    },
    { name: RECEIVERS.silent },
    email(RECEIVERS.modelTeamEmail, config.modelTeamEmail),
    email(RECEIVERS.platformTeamEmail, config.platformTeamEmail),
  ];
}
