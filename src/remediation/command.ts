/**
 * Runs remediation commands: an argv array started without a shell, so
 * alert labels can never become shell syntax, with a timeout and the
 * alert passed in environment variables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type {
  CommandAction,
  ComposeRestartAction,
  KubernetesRolloutRestartAction,
} from './config.js';
import type { WebhookAlert } from './payload.js';

/** What one action did, for the audit line and the HTTP answer. */
export interface ActionResult {
  ok: boolean;
  /** Short, fixed-form text: `exit=0`, `timeout after 60s`, `http 204`. */
  result: string;
  /** Exit code of a command that ran to its end. */
  exitCode?: number;
  /** On failure, the last line the command wrote to stderr. */
  detail?: string;
}

/** How long a command gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** How long after a command exits its stderr may still deliver output. */
const EXIT_GRACE_MS = 1_000;

/** Enough stderr for its last line; the rest is dropped as it arrives. */
const STDERR_KEPT_CHARS = 2_000;

/** The argv a command action or preset runs. */
export function commandArgv(
  action: CommandAction | ComposeRestartAction | KubernetesRolloutRestartAction,
): string[] {
  switch (action.type) {
    case 'command':
      return [...action.argv];
    case 'compose-restart':
      return [
        ...action.composeCommand,
        ...(action.composeFile ? ['-f', action.composeFile] : []),
        ...(action.project ? ['-p', action.project] : []),
        'restart',
        action.service,
      ];
    case 'kubernetes-rollout-restart':
      return [
        action.kubectl,
        ...(action.context ? ['--context', action.context] : []),
        'rollout',
        'restart',
        `deployment/${action.deployment}`,
        '-n',
        action.namespace,
      ];
  }
}

/** `instance` becomes `ALERT_LABEL_INSTANCE`. */
export function labelEnvName(label: string): string {
  return `ALERT_LABEL_${label.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;
}

/**
 * The alert as environment variables: `ALERT_NAME`, `ALERT_STATUS`,
 * `ALERT_FINGERPRINT`, `ALERT_STARTS_AT`, `REMEDIATION_RULE`, and one
 * `ALERT_LABEL_<NAME>` per label.
 */
export function alertEnv(
  rule: string,
  alert: WebhookAlert,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(alert.labels)) {
    env[labelEnvName(name)] = value;
  }
  env.ALERT_NAME = alert.labels.alertname ?? '';
  env.ALERT_STATUS = alert.status;
  env.ALERT_FINGERPRINT = alert.fingerprint;
  env.ALERT_STARTS_AT = alert.startsAt;
  env.REMEDIATION_RULE = rule;
  return env;
}

/** The last line a command wrote to stderr, cut to a log-friendly size. */
function lastLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

/**
 * Runs `argv` with the exporter's environment plus `env`. Resolves, never
 * rejects: a command that cannot start, fails, or outlives `timeoutMs`
 * gives `ok: false` and says which.
 */
export function runCommand(
  argv: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ActionResult> {
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      shell: false,
    });
  } catch (err) {
    // Arguments spawn refuses outright, such as a NUL byte in a value.
    const result = `spawn failed: ${(err as Error).message}`;
    return Promise.resolve({ ok: false, result });
  }
  return new Promise((resolve) => {
    let stderr = '';
    let timedOut = false;
    let settled = false;
    let killer: NodeJS.Timeout | undefined;
    let afterExit: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    const settle = (result: ActionResult): void => {
      if (settled) return;
      settled = true;
      [timer, killer, afterExit].forEach((t) => clearTimeout(t));
      child.stderr?.destroy();
      const detail = lastLine(stderr);
      resolve(result.ok || !detail ? result : { ...result, detail });
    };
    const finish = (code: number | null, signal: string | null): void => {
      if (timedOut) {
        settle({ ok: false, result: `timeout after ${timeoutMs / 1000}s` });
      } else if (code === null) {
        settle({ ok: false, result: `killed by ${signal}` });
      } else {
        settle({ ok: code === 0, result: `exit=${code}`, exitCode: code });
      }
    };

    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_KEPT_CHARS);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      settle({ ok: false, result: `spawn failed: ${err.code ?? err.message}` });
    });
    // 'close' waits for stderr to end as well; a process the command left
    // running in the background can hold it open, so 'exit' sets a limit.
    child.once('exit', (code, signal) => {
      afterExit = setTimeout(() => finish(code, signal), EXIT_GRACE_MS);
    });
    child.once('close', finish);
  });
}
