/**
 * Remediation settings: typed, with every default in one place. YAML keys
 * are snake_case (see `config-load.ts`); these fields are their camelCase
 * twins.
 *
 * ```yaml
 * remediation:
 *   enabled: true
 *   dry_run: false
 *   max_actions_per_hour: 10
 *   rules:
 *     - name: restart-model-server
 *       match: { alertname: InferenceModelServerDown, action: restart }
 *       cooldown_seconds: 900
 *       action: { type: compose-restart, service: model-server }
 * ```
 */
/** Runs an argv array, without a shell. */
export interface CommandAction {
  type: 'command';
  argv: string[];
  timeoutSeconds: number;
}

/** `docker compose restart <service>`, as argv. */
export interface ComposeRestartAction {
  type: 'compose-restart';
  service: string;
  /** The compose program as argv: `[docker, compose]` or `[docker-compose]`. */
  composeCommand: string[];
  /** Passed as `-f`; empty leaves it to the compose program. */
  composeFile: string;
  /** Passed as `-p`; empty leaves it to the compose program. */
  project: string;
  timeoutSeconds: number;
}

/** `kubectl rollout restart deployment/<name> -n <namespace>`, as argv. */
export interface KubernetesRolloutRestartAction {
  type: 'kubernetes-rollout-restart';
  deployment: string;
  namespace: string;
  kubectl: string;
  /** Passed as `--context`; empty uses the current context. */
  context: string;
  timeoutSeconds: number;
}

/**
 * Sends traffic to a standby endpoint: either a JSON request to `url`
 * (`{active, rule, alertname, fingerprint}`) or the standby's name written
 * atomically into `file`, for a proxy or service that watches it.
 */
export interface FailoverAction {
  type: 'failover';
  standby: string;
  url: string;
  method: 'POST' | 'PUT';
  /** Extra request headers, e.g. an authorization token. */
  headers: Record<string, string>;
  file: string;
  timeoutSeconds: number;
}

export type RemediationAction =
  | CommandAction
  | ComposeRestartAction
  | KubernetesRolloutRestartAction
  | FailoverAction;

export type ActionType = RemediationAction['type'];

export interface RemediationRule {
  /** Names the rule in logs and in the `rule` metric label. */
  name: string;
  /** Label values an alert must all carry for the rule to apply. */
  match: Record<string, string>;
  action: RemediationAction;
  /** How long after acting the same alert is not acted on again. */
  cooldownSeconds: number;
  /**
   * Labels whose values identify "the same alert" for the cooldown; empty
   * uses the alert's fingerprint (all its labels).
   */
  cooldownBy: string[];
  /** Actions of this rule in any hour; 0 leaves only the global limit. */
  maxActionsPerHour: number;
}

export interface RemediationConfig {
  /** Whether the exporter serves `POST /-/remediate` at all. */
  enabled: boolean;
  /** Decide and log every decision, but run nothing. */
  dryRun: boolean;
  /** Actions of all rules together in any hour. */
  maxActionsPerHour: number;
  /** Largest webhook body accepted; Alertmanager's groups are far smaller. */
  maxBodyBytes: number;
  /** Checked in order; the first rule whose `match` fits an alert applies. */
  rules: RemediationRule[];
}

/** Defaults of every setting; rules are empty, so nothing acts. */
export function defaultRemediationConfig(): RemediationConfig {
  return {
    enabled: false,
    dryRun: false,
    maxActionsPerHour: 10,
    maxBodyBytes: 256 * 1024,
    rules: [],
  };
}

/**
 * A rule's cooldown when it sets none. Shorter than the 30m repeat of the
 * generated remediation route, so an alert still firing then is retried.
 */
export const DEFAULT_COOLDOWN_SECONDS = 900;
/** Long enough for a container or rollout restart to be accepted. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 60;
/** A traffic switch answers at once or not at all. */
export const DEFAULT_FAILOVER_TIMEOUT_SECONDS = 10;
