import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  alertEnv,
  commandArgv,
  labelEnvName,
  runCommand,
} from '../../src/remediation/command.js';
import { parseWebhookPayload } from '../../src/remediation/payload.js';
import { modelServerDown, webhookBody } from './payloads.js';
import { rule, startReceiver, type Receiver } from './receiver.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'remediation-command-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A node script that writes the alert variables it sees as JSON. */
function markerScript(marker: string): string[] {
  const script = `
    const keys = Object.keys(process.env).filter((k) => /^(ALERT_|REMEDIATION_)/.test(k)).sort();
    require('node:fs').writeFileSync(${JSON.stringify(marker)},
      JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k]]))));`;
  return [process.execPath, '-e', script];
}

describe('commandArgv', () => {
  it('builds the compose restart preset', () => {
    const base = {
      type: 'compose-restart',
      service: 'model-server',
      timeoutSeconds: 60,
    } as const;
    expect(
      commandArgv({
        ...base,
        composeCommand: ['docker', 'compose'],
        composeFile: '',
        project: '',
      }),
    ).toEqual(['docker', 'compose', 'restart', 'model-server']);
    expect(
      commandArgv({
        ...base,
        composeCommand: ['docker-compose'],
        composeFile: '/srv/stack/docker-compose.yml',
        project: 'inference',
      }),
    ).toEqual([
      'docker-compose',
      '-f',
      '/srv/stack/docker-compose.yml',
      '-p',
      'inference',
      'restart',
      'model-server',
    ]);
  });

  it('builds the kubernetes rollout restart preset', () => {
    const action = {
      type: 'kubernetes-rollout-restart',
      deployment: 'recommender',
      namespace: 'shop',
      kubectl: 'kubectl',
      context: '',
      timeoutSeconds: 60,
    } as const;
    expect(commandArgv(action)).toEqual([
      'kubectl',
      'rollout',
      'restart',
      'deployment/recommender',
      '-n',
      'shop',
    ]);
    expect(commandArgv({ ...action, context: 'prod-eu' }).slice(0, 3)).toEqual([
      'kubectl',
      '--context',
      'prod-eu',
    ]);
  });
});

describe('alertEnv', () => {
  it('passes the alert name, labels and identity', () => {
    const payload = parseWebhookPayload(
      webhookBody([{ labels: modelServerDown(), fingerprint: '5e3a' }]),
    );
    expect(alertEnv('restart-model-server', payload.alerts[0]!)).toEqual({
      ALERT_NAME: 'InferenceModelServerDown',
      ALERT_STATUS: 'firing',
      ALERT_FINGERPRINT: '5e3a',
      ALERT_STARTS_AT: '2026-12-04T09:58:00.123456789Z',
      REMEDIATION_RULE: 'restart-model-server',
      ALERT_LABEL_ALERTNAME: 'InferenceModelServerDown',
      ALERT_LABEL_ACTION: 'restart',
      ALERT_LABEL_INSTANCE: 'inference-exporter:10464',
      ALERT_LABEL_JOB: 'inference-exporter',
      ALERT_LABEL_SEVERITY: 'critical',
      ALERT_LABEL_TARGET: 'model-server:8080',
      ALERT_LABEL_TEAM: 'recsys',
    });
    expect(labelEnvName('model_version')).toBe('ALERT_LABEL_MODEL_VERSION');
  });
});

describe('runCommand', () => {
  it('runs argv without a shell and reports the exit code', async () => {
    const marker = join(dir, 'argv.txt');
    // Shell syntax in an argument stays a literal string.
    const script = `require('node:fs').writeFileSync(${JSON.stringify(marker)}, process.argv[1])`;
    const result = await runCommand(
      [process.execPath, '-e', script, '$(id); `id`'],
      {},
      10_000,
    );
    expect(result).toEqual({ ok: true, result: 'exit=0', exitCode: 0 });
    expect(readFileSync(marker, 'utf8')).toBe('$(id); `id`');
  });

  it('reports a non-zero exit with the last stderr line', async () => {
    const script =
      "console.error('first'); console.error('no such service: model-server'); process.exit(3)";
    const result = await runCommand(
      [process.execPath, '-e', script],
      {},
      10_000,
    );
    expect(result).toEqual({
      ok: false,
      result: 'exit=3',
      exitCode: 3,
      detail: 'no such service: model-server',
    });
  });

  it('stops a command that outlives its timeout', async () => {
    const result = await runCommand(
      [process.execPath, '-e', 'setTimeout(() => {}, 60000)'],
      {},
      300,
    );
    expect(result).toEqual({ ok: false, result: 'timeout after 0.3s' });
  });

  it('does not wait for a background process that keeps stderr open', async () => {
    const pidFile = join(dir, 'background.pid');
    // The command starts a sleeper sharing its stderr, then exits at once.
    const script = `
      const { spawn } = require('node:child_process');
      const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'],
        { stdio: ['ignore', 'ignore', 'inherit'] });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(sleeper.pid));
      process.exit(0);`;
    const hung = new Promise((resolve) =>
      setTimeout(() => resolve('still waiting'), 10_000),
    );
    try {
      const result = await Promise.race([
        runCommand([process.execPath, '-e', script], {}, 30_000),
        hung,
      ]);
      expect(result).toEqual({ ok: true, result: 'exit=0', exitCode: 0 });
    } finally {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    }
  });

  it('reports a program that does not exist', async () => {
    const result = await runCommand([join(dir, 'no-such-program')], {}, 10_000);
    expect(result).toEqual({ ok: false, result: 'spawn failed: ENOENT' });
  });
});

describe('command rule through the receiver', () => {
  let receiver: Receiver;
  afterEach(async () => receiver?.close());

  it('runs the command with the alert in its environment', async () => {
    const marker = join(dir, 'restart-marker.json');
    const restart = rule({
      name: 'restart-model-server',
      action: {
        type: 'command',
        argv: markerScript(marker),
        timeoutSeconds: 20,
      },
    });
    receiver = await startReceiver({ rules: [restart] });

    const res = await receiver.post(
      webhookBody([
        { labels: modelServerDown('model-server-2:8080'), fingerprint: '9c1f' },
      ]),
    );
    expect(res.status).toBe(200);
    const { decisions } = (await res.json()) as {
      decisions: Array<Record<string, unknown>>;
    };
    expect(decisions[0]).toMatchObject({
      decision: 'run',
      action: 'command',
      result: 'exit=0',
    });

    const env = JSON.parse(readFileSync(marker, 'utf8')) as Record<
      string,
      string
    >;
    expect(env).toMatchObject({
      ALERT_NAME: 'InferenceModelServerDown',
      ALERT_FINGERPRINT: '9c1f',
      ALERT_STATUS: 'firing',
      ALERT_LABEL_TARGET: 'model-server-2:8080',
      ALERT_LABEL_ACTION: 'restart',
      REMEDIATION_RULE: 'restart-model-server',
    });
    expect(receiver.decisions()[0]).toMatchObject({
      decision: 'run',
      exit_code: 0,
    });
  });
});
