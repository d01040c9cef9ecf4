/**
 * The brakes on remediation: a cooldown per rule and alert, and caps on
 * actions per hour, for all rules together and for each rule. Both count
 * only actions taken (or, in dry-run mode, actions that would have been
 * taken), so the memory they hold is bounded by the hourly cap.
 */
import type { RemediationRule } from './config.js';
import type { WebhookAlert } from './payload.js';

const HOUR_MS = 3_600_000;

export type LimitVerdict = 'ok' | 'cooldown' | 'rate_limit';

/**
 * What makes two alerts "the same" for a rule's cooldown: the values of
 * its `cooldownBy` labels, or else the alert's fingerprint.
 */
export function cooldownKey(
  rule: RemediationRule,
  alert: WebhookAlert,
): string {
  const identity = rule.cooldownBy.length
    ? JSON.stringify(rule.cooldownBy.map((name) => alert.labels[name] ?? ''))
    : alert.fingerprint;
  return `${rule.name}\u0000${identity}`;
}

/** Decides whether an action may run now, and remembers those that did. */
export class ActionLimiter {
  /** When the cooldown of each key ends, in ms. */
  private readonly cooling = new Map<string, number>();
  /** Start times of actions within the last hour, oldest first. */
  private readonly recent: number[] = [];
  private readonly recentByRule = new Map<string, number[]>();

  constructor(
    private readonly maxActionsPerHour: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `rule` may act on the alert with this cooldown key now. */
  check(rule: RemediationRule, key: string): LimitVerdict {
    this.forgetExpired(this.now());
    if (this.cooling.has(key)) return 'cooldown';
    if (this.recent.length >= this.maxActionsPerHour) return 'rate_limit';
    const ruleCount = this.recentByRule.get(rule.name)?.length ?? 0;
    if (rule.maxActionsPerHour > 0 && ruleCount >= rule.maxActionsPerHour) {
      return 'rate_limit';
    }
    return 'ok';
  }

  /** Counts an action of `rule` on `key` as taken now. */
  record(rule: RemediationRule, key: string): void {
    const now = this.now();
    this.cooling.set(key, now + rule.cooldownSeconds * 1000);
    this.recent.push(now);
    const byRule = this.recentByRule.get(rule.name) ?? [];
    byRule.push(now);
    this.recentByRule.set(rule.name, byRule);
  }

  private forgetExpired(now: number): void {
    dropOlder(this.recent, now - HOUR_MS);
    for (const times of this.recentByRule.values()) {
      dropOlder(times, now - HOUR_MS);
    }
    for (const [key, until] of this.cooling) {
      if (until <= now) this.cooling.delete(key);
    }
  }
}

/** Drops the leading entries of a sorted list up to and at `cutoff`. */
function dropOlder(times: number[], cutoff: number): void {
  let n = 0;
  while (n < times.length && times[n]! <= cutoff) n++;
  if (n > 0) times.splice(0, n);
}
