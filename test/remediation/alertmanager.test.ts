/**
 * A real Alertmanager (the Debian `prometheus-alertmanager` binary) on
 * loopback sends its webhook to the receiver: the payload it builds must
 * pass validation, and the fingerprint it computes must reach the audit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionRunner } from '../../src/remediation/remediator.js';
import { modelServerDown } from './payloads.js';
import { rule, startReceiver, type Receiver } from './receiver.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

let dir: string;
let receiver: Receiver;
let alertmanager: ChildProcess;
let amUrl: string;
let amOutput = '';
const ran: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until(
  done: () => Promise<boolean> | boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if (await done()) return;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}\n${amOutput}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'remediation-am-'));
  const runner: ActionRunner = async (_action, _rule, alert) => {
    ran.push(alert.fingerprint);
    return { ok: true, result: 'exit=0', exitCode: 0 };
  };
  receiver = await startReceiver(
    { rules: [rule({ name: 'restart-model-server' })] },
    runner,
  );
  receiver.clock.ms = Date.now();

  // The remediation route of the generated alertmanager.yml, with waits
  // shortened so the test sees the notification at once.
  const config = [
    'route:',
    '  receiver: remediation',
    "  group_by: ['...']",
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: remediation',
    '    webhook_configs:',
    `      - url: ${receiver.url}`,
    '        send_resolved: false',
  ].join('\n');
  writeFileSync(join(dir, 'alertmanager.yml'), config + '\n');
  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  alertmanager = spawn(
    ALERTMANAGER,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // No cluster: it would otherwise listen on all interfaces.
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  alertmanager.stdout!.on('data', (d: Buffer) => (amOutput += d.toString()));
  alertmanager.stderr!.on('data', (d: Buffer) => (amOutput += d.toString()));
  await until(async () => (await fetch(`${amUrl}/-/ready`)).ok, 'Alertmanager');
});

afterAll(async () => {
  if (alertmanager && alertmanager.exitCode === null) {
    const exited = new Promise((resolve) => alertmanager.once('exit', resolve));
    process.kill(alertmanager.pid!, 'SIGTERM');
    await exited;
  }
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('with a real Alertmanager', () => {
  it('acts once on the alert it delivers, under its fingerprint', async () => {
    const alert = {
      labels: modelServerDown(),
      annotations: { summary: 'The model server fails its health probe.' },
      startsAt: new Date().toISOString(),
    };
    const posted = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
    });
    expect(posted.status).toBe(200);

    await until(() => receiver.decisions().length > 0, 'the webhook');
    const stored = (await (
      await fetch(`${amUrl}/api/v2/alerts`)
    ).json()) as Array<{ fingerprint: string }>;
    expect(stored).toHaveLength(1);
    const fingerprint = stored[0]!.fingerprint;
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);

    expect(receiver.decisions()[0]).toMatchObject({
      decision: 'run',
      alertname: 'InferenceModelServerDown',
      rule: 'restart-model-server',
      fingerprint,
    });
    expect(ran).toEqual([fingerprint]);
    expect(amOutput).not.toMatch(/level=error/);
  });
});
