/**
 * The decision step of remediation, apart from HTTP: for each alert of a
 * webhook payload it finds the rule, applies the brakes, runs (or in dry
 * run only names) the action, and writes exactly one audit line and one
 * decision count.
 */
import type { Fields, Logger } from '../log.js';
import type { MetricStore } from '../metrics/store.js';
import {
  alertEnv,
  commandArgv,
  runCommand,
  type ActionResult,
} from './command.js';
import type {
  RemediationAction,
  RemediationConfig,
  RemediationRule,
} from './config.js';
import { runFailover } from './failover.js';
import { ActionLimiter, cooldownKey, type LimitVerdict } from './limits.js';
import {
  NO_RULE,
  registerRemediationMetrics,
  type Decision,
  type RemediationFamilies,
} from './metrics.js';
import type { WebhookAlert, WebhookPayload } from './payload.js';

/** Runs one action; the default runs commands and failovers for real. */
export type ActionRunner = (
  action: RemediationAction,
  rule: string,
  alert: WebhookAlert,
) => Promise<ActionResult>;

export interface RemediatorOptions {
  config: RemediationConfig;
  store: MetricStore;
  log: Logger;
  /** The clock for cooldowns and hourly caps, in ms. */
  now?: () => number;
  runAction?: ActionRunner;
}

const SKIPPED_BY = {
  cooldown: 'skipped_cooldown',
  rate_limit: 'skipped_rate_limit',
} as const satisfies Record<Exclude<LimitVerdict, 'ok'>, Decision>;

/** One decision about one alert, as logged and answered over HTTP. */
export interface DecisionRecord {
  alertname: string;
  fingerprint: string;
  rule: string;
  decision: Decision;
  action?: RemediationAction['type'];
  result?: string;
}

/** The first rule whose matchers all equal the alert's labels. */
export function findRule(
  rules: readonly RemediationRule[],
  labels: Record<string, string>,
): RemediationRule | undefined {
  return rules.find((rule) =>
    Object.entries(rule.match).every(([name, value]) => labels[name] === value),
  );
}

/** What an action would do, in words, for dry-run lines. */
export function describeAction(action: RemediationAction): string {
  if (action.type !== 'failover') return commandArgv(action).join(' ');
  const target = action.file
    ? `file ${action.file}`
    : `${action.method} ${action.url}`;
  return `switch to ${action.standby} via ${target}`;
}

/** Runs an action for real. */
export const runActionForReal: ActionRunner = (action, rule, alert) => {
  if (action.type === 'failover') return runFailover(action, rule, alert);
  const timeoutMs = action.timeoutSeconds * 1000;
  return runCommand(commandArgv(action), alertEnv(rule, alert), timeoutMs);
};

/** Takes decisions on alerts; one per process, shared by all requests. */
export class Remediator {
  private readonly limiter: ActionLimiter;
  private readonly metrics: RemediationFamilies;
  private readonly log: Logger;
  private readonly runAction: ActionRunner;
  private readonly now: () => number;

  constructor(private readonly options: RemediatorOptions) {
    const { config, store } = options;
    this.now = options.now ?? Date.now;
    this.limiter = new ActionLimiter(config.maxActionsPerHour, this.now);
    const ruleNames = config.rules.map((r) => r.name);
    this.metrics = registerRemediationMetrics(store, ruleNames);
    this.log = options.log.child('remediation');
    this.runAction = options.runAction ?? runActionForReal;
  }

  /**
   * Decides on every alert in turn. Actions run one after another, so one
   * payload never restarts many things at once.
   */
  async handle(payload: WebhookPayload): Promise<DecisionRecord[]> {
    const records: DecisionRecord[] = [];
    for (const alert of payload.alerts) {
      records.push(await this.decide(alert));
    }
    return records;
  }

  private async decide(alert: WebhookAlert): Promise<DecisionRecord> {
    const rule = findRule(this.options.config.rules, alert.labels);
    const base = {
      alertname: alert.labels.alertname ?? '',
      fingerprint: alert.fingerprint,
      rule: rule?.name ?? NO_RULE,
    };
    if (!rule) return this.emit({ ...base, decision: 'no_rule' });
    const action = rule.action.type;
    if (alert.status !== 'firing') {
      return this.emit({ ...base, action, decision: 'skipped_resolved' });
    }

    // Check and record with no await between them, so two requests for
    // the same alert cannot both pass the cooldown.
    const key = cooldownKey(rule, alert);
    const verdict = this.limiter.check(rule, key);
    if (verdict !== 'ok') {
      const decision = SKIPPED_BY[verdict];
      return this.emit({ ...base, action, decision });
    }
    this.limiter.record(rule, key);

    if (this.options.config.dryRun) {
      const result = `would run: ${describeAction(rule.action)}`;
      return this.emit({ ...base, action, decision: 'dry_run', result });
    }
    return this.run(rule, alert, base);
  }

  private async run(
    rule: RemediationRule,
    alert: WebhookAlert,
    base: Pick<DecisionRecord, 'alertname' | 'fingerprint' | 'rule'>,
  ): Promise<DecisionRecord> {
    const started = this.now();
    let outcome: ActionResult;
    try {
      outcome = await this.runAction(rule.action, rule.name, alert);
    } catch (err) {
      // Runners resolve with failures; this only catches a broken one.
      outcome = { ok: false, result: 'error', detail: String(err) };
    }
    const seconds = Math.max(0, this.now() - started) / 1000;
    this.metrics.actionDuration.labels(rule.name).observe(seconds);
    const record: DecisionRecord = {
      ...base,
      action: rule.action.type,
      decision: outcome.ok ? 'run' : 'failed',
      result: outcome.result,
    };
    return this.emit(record, {
      exit_code: outcome.exitCode,
      detail: outcome.detail,
      duration_seconds: Number(seconds.toFixed(3)),
    });
  }

  /** The one audit line and count of a decision. */
  private emit(record: DecisionRecord, extra: Fields = {}): DecisionRecord {
    this.metrics.decisions.labels(record.rule, record.decision).inc();
    const fields: Fields = {
      decision: record.decision,
      alertname: record.alertname,
      rule: record.rule,
      fingerprint: record.fingerprint,
      action: record.action,
      result: record.result,
      ...extra,
    };
    const level = record.decision === 'failed' ? 'warn' : 'info';
    this.log[level]('remediation decision', fields);
    return record;
  }
}
