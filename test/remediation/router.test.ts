import { afterEach, describe, expect, it } from 'vitest';
import type { RemediationAction } from '../../src/remediation/config.js';
import type { ActionRunner } from '../../src/remediation/remediator.js';
import type { WebhookAlert } from '../../src/remediation/payload.js';
import { promtoolCheckMetrics } from '../e2e/helpers.js';
import { modelServerDown, qpsDrop, webhookBody } from './payloads.js';
import { rule, sample, startReceiver, type Receiver } from './receiver.js';

interface Call {
  action: RemediationAction;
  rule: string;
  alert: WebhookAlert;
}

/** A runner that records its calls and succeeds like a command exiting 0. */
function recordingRunner(calls: Call[], ok = true): ActionRunner {
  return async (action, ruleName, alert) => {
    calls.push({ action, rule: ruleName, alert });
    return ok
      ? { ok: true, result: 'exit=0', exitCode: 0 }
      : {
          ok: false,
          result: 'exit=1',
          exitCode: 1,
          detail: 'service not found',
        };
  };
}

const RESTART = rule({ name: 'restart-model-server' });
const FAILOVER = rule({
  name: 'failover-recommender',
  match: { alertname: 'InferenceQPSDrop', action: 'failover' },
  action: {
    type: 'failover',
    standby: 'recommender-standby',
    url: '',
    method: 'POST',
    headers: {},
    file: '/var/lib/inference-exporter/active-endpoint',
    timeoutSeconds: 10,
  },
});

let receiver: Receiver;
afterEach(async () => receiver?.close());

async function decide(body: unknown): Promise<Array<Record<string, unknown>>> {
  const res = await receiver.post(body);
  expect(res.status).toBe(200);
  const answer = (await res.json()) as {
    decisions: Array<Record<string, unknown>>;
  };
  return answer.decisions;
}

const decisionsOf = (records: Array<Record<string, unknown>>) =>
  records.map((r) => r.decision);

describe('POST /-/remediate decisions', () => {
  it('runs the matching rule once for a firing alert and audits it', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [FAILOVER, RESTART] },
      recordingRunner(calls),
    );

    const answer = await decide(
      webhookBody([{ labels: modelServerDown(), fingerprint: 'f00d' }]),
    );

    expect(answer).toEqual([
      {
        alertname: 'InferenceModelServerDown',
        fingerprint: 'f00d',
        rule: 'restart-model-server',
        action: 'compose-restart',
        decision: 'run',
        result: 'exit=0',
      },
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.rule).toBe('restart-model-server');
    expect(calls[0]!.alert.labels.target).toBe('model-server:8080');
    const audit = receiver.decisions();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      level: 'info',
      component: 'remediation',
      decision: 'run',
      alertname: 'InferenceModelServerDown',
      rule: 'restart-model-server',
      fingerprint: 'f00d',
      action: 'compose-restart',
      result: 'exit=0',
      exit_code: 0,
    });
    const base = 'inference_remediation_decisions_total';
    expect(
      sample(
        receiver.store,
        `${base}{rule="restart-model-server",decision="run"}`,
      ),
    ).toBe(1);
    expect(
      sample(
        receiver.store,
        `${base}{rule="failover-recommender",decision="run"}`,
      ),
    ).toBe(0);
    expect(
      sample(receiver.store, `${base}{rule="none",decision="no_rule"}`),
    ).toBe(0);
    const duration = 'inference_remediation_action_duration_seconds_count';
    expect(
      sample(receiver.store, `${duration}{rule="restart-model-server"}`),
    ).toBe(1);
    const check = promtoolCheckMetrics(receiver.store.render('prometheus'));
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('skips the same alert inside its cooldown and acts again after it', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [RESTART] },
      recordingRunner(calls),
    );
    const body = webhookBody([
      { labels: modelServerDown(), fingerprint: 'f00d' },
    ]);

    expect(decisionsOf(await decide(body))).toEqual(['run']);
    receiver.clock.ms += 599_999;
    expect(decisionsOf(await decide(body))).toEqual(['skipped_cooldown']);
    receiver.clock.ms += 1;
    expect(decisionsOf(await decide(body))).toEqual(['run']);

    expect(calls).toHaveLength(2);
    expect(decisionsOf(receiver.decisions())).toEqual([
      'run',
      'skipped_cooldown',
      'run',
    ]);
    const series =
      'inference_remediation_decisions_total{rule="restart-model-server",decision="skipped_cooldown"}';
    expect(sample(receiver.store, series)).toBe(1);
  });

  it('applies the cooldown to alerts sharing the cooldown_by labels', async () => {
    const calls: Call[] = [];
    const byTarget = rule({
      name: 'restart-by-target',
      cooldownBy: ['target'],
    });
    receiver = await startReceiver(
      { rules: [byTarget] },
      recordingRunner(calls),
    );

    // Same target from two exporters: two fingerprints, one model server.
    const fromOther = { ...modelServerDown(), instance: 'exporter-b:10464' };
    const body = webhookBody([
      { labels: modelServerDown(), fingerprint: 'aaaa' },
      { labels: fromOther, fingerprint: 'bbbb' },
      { labels: modelServerDown('model-server-2:8080'), fingerprint: 'cccc' },
    ]);
    expect(decisionsOf(await decide(body))).toEqual([
      'run',
      'skipped_cooldown',
      'run',
    ]);
    expect(calls.map((c) => c.alert.fingerprint)).toEqual(['aaaa', 'cccc']);
  });

  it('caps actions per hour across all rules', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [RESTART, FAILOVER], maxActionsPerHour: 2 },
      recordingRunner(calls),
    );
    const body = webhookBody([
      { labels: modelServerDown('a:8080'), fingerprint: '01' },
      { labels: qpsDrop('item-cf'), fingerprint: '02' },
      { labels: modelServerDown('b:8080'), fingerprint: '03' },
    ]);

    expect(decisionsOf(await decide(body))).toEqual([
      'run',
      'run',
      'skipped_rate_limit',
    ]);
    // An hour after the first two, the third gets its turn.
    receiver.clock.ms += 3_600_000;
    const third = webhookBody([
      { labels: modelServerDown('b:8080'), fingerprint: '03' },
    ]);
    expect(decisionsOf(await decide(third))).toEqual(['run']);
    expect(calls).toHaveLength(3);
  });

  it('caps actions per hour for one rule without holding back others', async () => {
    const calls: Call[] = [];
    const once = { ...RESTART, maxActionsPerHour: 1 };
    receiver = await startReceiver(
      { rules: [once, FAILOVER] },
      recordingRunner(calls),
    );
    const body = webhookBody([
      { labels: modelServerDown('a:8080'), fingerprint: '01' },
      { labels: modelServerDown('b:8080'), fingerprint: '02' },
      { labels: qpsDrop(), fingerprint: '03' },
    ]);

    expect(decisionsOf(await decide(body))).toEqual([
      'run',
      'skipped_rate_limit',
      'run',
    ]);
    expect(calls.map((c) => c.rule)).toEqual([
      'restart-model-server',
      'failover-recommender',
    ]);
  });

  it('decides and logs in dry-run mode but runs nothing', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [RESTART, FAILOVER], dryRun: true },
      recordingRunner(calls),
    );
    const body = webhookBody([
      { labels: modelServerDown(), fingerprint: '01' },
      { labels: qpsDrop(), fingerprint: '02' },
    ]);

    const answer = await decide(body);
    expect(answer.map((d) => [d.decision, d.result])).toEqual([
      ['dry_run', 'would run: docker compose restart model-server'],
      [
        'dry_run',
        'would run: switch to recommender-standby via file /var/lib/inference-exporter/active-endpoint',
      ],
    ]);
    // A dry run keeps the same brakes as a real one.
    expect(decisionsOf(await decide(body))).toEqual([
      'skipped_cooldown',
      'skipped_cooldown',
    ]);
    expect(calls).toHaveLength(0);
    expect(receiver.decisions()).toHaveLength(4);
  });

  it('never acts on resolved alerts', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [RESTART] },
      recordingRunner(calls),
    );
    const body = webhookBody([
      {
        labels: modelServerDown('a:8080'),
        fingerprint: '01',
        status: 'resolved',
      },
      { labels: modelServerDown('b:8080'), fingerprint: '02' },
    ]);

    const answer = await decide(body);
    expect(answer.map((d) => [d.fingerprint, d.decision])).toEqual([
      ['01', 'skipped_resolved'],
      ['02', 'run'],
    ]);
    expect(calls.map((c) => c.alert.fingerprint)).toEqual(['02']);
  });

  it('records alerts no rule matches under rule "none"', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [RESTART] },
      recordingRunner(calls),
    );
    const labels = { ...modelServerDown(), alertname: 'InferenceLatencyHigh' };

    const answer = await decide(webhookBody([{ labels, fingerprint: '01' }]));
    expect(answer[0]).toMatchObject({ decision: 'no_rule', rule: 'none' });
    expect(answer[0]!.action).toBeUndefined();
    expect(calls).toHaveLength(0);
    const series =
      'inference_remediation_decisions_total{rule="none",decision="no_rule"}';
    expect(sample(receiver.store, series)).toBe(1);
  });

  it('records a failing action as failed, logged as a warning', async () => {
    const calls: Call[] = [];
    receiver = await startReceiver(
      { rules: [RESTART] },
      recordingRunner(calls, false),
    );

    const answer = await decide(
      webhookBody([{ labels: modelServerDown(), fingerprint: '01' }]),
    );
    expect(answer[0]).toMatchObject({ decision: 'failed', result: 'exit=1' });
    expect(receiver.decisions()[0]).toMatchObject({
      level: 'warn',
      decision: 'failed',
      exit_code: 1,
      detail: 'service not found',
    });
    // A failed attempt still starts the cooldown, so a broken restart is
    // not retried on every notification.
    expect(
      decisionsOf(
        await decide(
          webhookBody([{ labels: modelServerDown(), fingerprint: '01' }]),
        ),
      ),
    ).toEqual(['skipped_cooldown']);
  });

  it('writes exactly one audit line per alert', async () => {
    receiver = await startReceiver(
      { rules: [RESTART], maxActionsPerHour: 1 },
      recordingRunner([]),
    );
    const body = webhookBody([
      { labels: modelServerDown('a:8080'), fingerprint: '01' },
      { labels: modelServerDown('a:8080'), fingerprint: '01' },
      { labels: modelServerDown('b:8080'), fingerprint: '02' },
      {
        labels: modelServerDown('c:8080'),
        fingerprint: '03',
        status: 'resolved',
      },
      { labels: { alertname: 'Watchdog' }, fingerprint: '04' },
    ]);

    await decide(body);
    expect(decisionsOf(receiver.decisions())).toEqual([
      'run',
      'skipped_cooldown',
      'skipped_rate_limit',
      'skipped_resolved',
      'no_rule',
    ]);
    for (const line of receiver.decisions()) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining([
          'decision',
          'alertname',
          'rule',
          'fingerprint',
        ]),
      );
    }
  });
});

describe('POST /-/remediate refusals', () => {
  it('refuses malformed JSON with 400', async () => {
    receiver = await startReceiver({ rules: [RESTART] });
    const res = await receiver.post('{"version": "4", "alerts": [');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /^malformed JSON/,
    );
    expect(receiver.decisions()).toHaveLength(0);
  });

  it.each([
    [{ ...webhookBody([]), version: '3' }, 'version: must be "4", got "3"'],
    [{ ...webhookBody([]), alerts: 'none' }, 'alerts: must be an array'],
    [[webhookBody([])], '(body): must be a JSON object'],
    [
      webhookBody([{ labels: { action: 'restart' } }]),
      'alerts[0].labels.alertname: must be a non-empty string',
    ],
    [
      {
        ...webhookBody([]),
        alerts: [
          {
            ...(
              webhookBody([{ labels: modelServerDown() }]).alerts as object[]
            )[0]!,
            status: 'pending',
          },
        ],
      },
      'alerts[0].status: must be "firing" or "resolved"',
    ],
  ])(
    'refuses a payload of the wrong shape with 400 naming the field',
    async (body, message) => {
      receiver = await startReceiver({ rules: [RESTART] });
      const res = await receiver.post(body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: string };
      expect(error).toBe(`not an Alertmanager webhook payload: ${message}`);
      expect(receiver.decisions()).toHaveLength(0);
    },
  );

  it('refuses bodies that are not JSON with 415', async () => {
    receiver = await startReceiver({ rules: [RESTART] });
    const body = JSON.stringify(webhookBody([{ labels: modelServerDown() }]));
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
    ]) {
      const res = await receiver.post(body, headers);
      expect(res.status).toBe(415);
      expect(((await res.json()) as { error: string }).error).toBe(
        'Content-Type must be application/json',
      );
    }
    expect(receiver.decisions()).toHaveLength(0);
  });

  it('refuses bodies over the limit with 413', async () => {
    receiver = await startReceiver({ rules: [RESTART], maxBodyBytes: 2048 });
    const many = Array.from({ length: 20 }, (_, i) => ({
      labels: modelServerDown(`m${i}:8080`),
    }));
    const body = JSON.stringify(webhookBody(many));
    expect(body.length).toBeGreaterThan(2048);

    const res = await receiver.post(body);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe(
      'body larger than 2048 bytes',
    );
    expect(receiver.decisions()).toHaveLength(0);
  });

  it('answers other methods with 405 and Allow: POST', async () => {
    receiver = await startReceiver({ rules: [RESTART] });
    const res = await fetch(receiver.url);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
