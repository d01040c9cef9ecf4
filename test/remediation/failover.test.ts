import express from 'express';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from 'vitest';
import type { FailoverAction } from '../../src/remediation/config.js';
import {
  runFailover,
  writeFileAtomic,
} from '../../src/remediation/failover.js';
import {
  parseWebhookPayload,
  type WebhookAlert,
} from '../../src/remediation/payload.js';
import { qpsDrop, webhookBody } from './payloads.js';
import { rule, startReceiver, type Receiver } from './receiver.js';

interface Received {
  method: string;
  path: string;
  contentType: string;
  token: string;
  body: unknown;
}

let dir: string;
let mock: Server;
let mockUrl: string;
let received: Received[];
let answerStatus: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'remediation-failover-'));
  const app = express();
  app.use(express.json());
  app.all('/traffic/active', (req, res) => {
    received.push({
      method: req.method,
      path: req.path,
      contentType: req.get('content-type') ?? '',
      token: req.get('x-switch-token') ?? '',
      body: req.body,
    });
    res.status(answerStatus).json({ ok: answerStatus < 300 });
  });
  mock = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  mockUrl = `http://127.0.0.1:${(mock.address() as { port: number }).port}/traffic/active`;
});

afterAll(async () => {
  mock.closeAllConnections();
  await new Promise((resolve) => mock.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
  answerStatus = 200;
});

function alertOf(fingerprint: string): WebhookAlert {
  return parseWebhookPayload(webhookBody([{ labels: qpsDrop(), fingerprint }]))
    .alerts[0]!;
}

function failover(fields: Partial<FailoverAction>): FailoverAction {
  return {
    type: 'failover',
    standby: 'recommender-standby',
    url: '',
    method: 'POST',
    headers: {},
    file: '',
    timeoutSeconds: 5,
    ...fields,
  };
}

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file behind', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const file = join(sub, 'active-endpoint');
    writeFileSync(file, 'recommender-primary\n');
    await writeFileAtomic(file, 'recommender-standby\n');
    expect(readFileSync(file, 'utf8')).toBe('recommender-standby\n');
    expect(readdirSync(sub)).toEqual(['active-endpoint']);
  });

  it('fails, and cleans up, when the directory does not exist', async () => {
    await expect(
      writeFileAtomic(join(dir, 'missing', 'active'), 'x'),
    ).rejects.toThrow(/ENOENT/);
  });
});

describe('runFailover', () => {
  it('writes the standby name into the file', async () => {
    const file = join(dir, 'active-endpoint');
    const result = await runFailover(
      failover({ file }),
      'failover-recommender',
      alertOf('77'),
    );
    expect(result).toEqual({ ok: true, result: 'wrote recommender-standby' });
    expect(readFileSync(file, 'utf8')).toBe('recommender-standby\n');
  });

  it('POSTs the switch as JSON with the configured headers', async () => {
    const action = failover({
      url: mockUrl,
      headers: { 'x-switch-token': 's3cret' },
    });
    const result = await runFailover(
      action,
      'failover-recommender',
      alertOf('77'),
    );
    expect(result).toEqual({ ok: true, result: 'http 200' });
    expect(received).toEqual([
      {
        method: 'POST',
        path: '/traffic/active',
        contentType: 'application/json',
        token: 's3cret',
        body: {
          active: 'recommender-standby',
          rule: 'failover-recommender',
          alertname: 'InferenceQPSDrop',
          fingerprint: '77',
        },
      },
    ]);
  });

  it('uses PUT when configured and fails on a non-2xx answer', async () => {
    answerStatus = 503;
    const result = await runFailover(
      failover({ url: mockUrl, method: 'PUT' }),
      'r',
      alertOf('78'),
    );
    expect(result).toEqual({ ok: false, result: 'http 503' });
    expect(received.map((r) => r.method)).toEqual(['PUT']);
  });

  it('fails with the error when nothing listens', async () => {
    // A port that was just free on loopback.
    const probe = await new Promise<Server>((resolve) => {
      const s = express().listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const result = await runFailover(
      failover({ url: `http://127.0.0.1:${port}/x` }),
      'r',
      alertOf('79'),
    );
    expect(result.ok).toBe(false);
    expect(result.result).toBe('error');
    expect(result.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('failover rules through the receiver', () => {
  let receiver: Receiver;
  afterEach(async () => receiver?.close());

  it('switches by file and by request for one QPS-drop alert each', async () => {
    const file = join(dir, 'receiver-active-endpoint');
    const byFile = rule({
      name: 'failover-homepage',
      match: { alertname: 'InferenceQPSDrop', scene: 'homepage' },
      action: failover({ file }),
    });
    const byRequest = rule({
      name: 'failover-cart',
      match: { alertname: 'InferenceQPSDrop', scene: 'cart' },
      action: failover({ url: mockUrl, standby: 'cart-standby' }),
    });
    receiver = await startReceiver({ rules: [byFile, byRequest] });

    const res = await receiver.post(
      webhookBody([
        { labels: qpsDrop('item-cf', 'homepage'), fingerprint: 'h1' },
        { labels: qpsDrop('item-cf', 'cart'), fingerprint: 'c1' },
      ]),
    );
    expect(res.status).toBe(200);
    const { decisions } = (await res.json()) as {
      decisions: Array<Record<string, unknown>>;
    };
    expect(decisions.map((d) => [d.rule, d.decision, d.result])).toEqual([
      ['failover-homepage', 'run', 'wrote recommender-standby'],
      ['failover-cart', 'run', 'http 200'],
    ]);
    expect(readFileSync(file, 'utf8')).toBe('recommender-standby\n');
    expect(received.map((r) => (r.body as { active: string }).active)).toEqual([
      'cart-standby',
    ]);
  });
});
