import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { LineResult } from '../../src/formats/events.js';
import {
  KServeEventParser,
  kserveRouter,
  type CloudEventHeaders,
} from '../../src/formats/kserve.js';
import { fixtureText, ipv4Addresses, NOW, source } from './helpers.js';

const defaults = source().defaults;

interface PostedEvent {
  headers: Record<string, string>;
  body: string;
}

/**
 * Turns Knative's event_display output back into what KServe's logger
 * posted: each context attribute and extension becomes its binary-mode
 * `ce-` header (an empty extension an empty header), Data the body.
 */
function eventsFromDump(text: string): PostedEvent[] {
  return text
    .split('☁️  cloudevents.Event\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const [attributes, data = ''] = block.split('Data,\n');
      const headers: Record<string, string> = {};
      for (const m of attributes!.matchAll(/^ {2}([a-z]+):(?: (.*))?$/gm)) {
        const name = m[1] === 'datacontenttype' ? 'content-type' : `ce-${m[1]}`;
        headers[name] = m[2] ?? '';
      }
      const body = data.replace(/^ {2}/gm, '');
      return { headers, body };
    });
}

const DUMP = fixtureText('kserve', 'basic-readme-message-dumper.txt');
const [REQUEST, RESPONSE] = eventsFromDump(DUMP) as [PostedEvent, PostedEvent];

/** The event the documented pair stands for, worked out from its headers. */
const DOCUMENTED_EVENT = {
  kind: 'inference',
  // 2021-04-10T00:23:26.0789529Z, the request's time, to the millisecond.
  timeMs: 1618014206078,
  requestId: '0009174a-24a8-4603-b098-09c8799950e9',
  model: 'sklearn-iris',
  version: 'unknown',
  scene: 'default',
  outcome: 'ok',
  // 26.080736102 s - 26.0789529 s.
  latencySeconds: 0.001783202,
  items: [],
};

describe('the documented message-dumper output', () => {
  it('holds one request and one response sharing an id', () => {
    expect(REQUEST.headers['ce-type']).toBe(
      'org.kubeflow.serving.inference.request',
    );
    expect(RESPONSE.headers['ce-type']).toBe(
      'org.kubeflow.serving.inference.response',
    );
    expect(JSON.parse(RESPONSE.body)).toEqual({ predictions: [1, 1] });
    expect(REQUEST.headers['ce-endpoint']).toBe('');
  });
});

describe('KServeEventParser', () => {
  it('pairs request and response into one event with latency', () => {
    const parser = new KServeEventParser({ defaults });
    expect(parser.parseKServeEvent(REQUEST.headers, REQUEST.body, NOW)).toEqual(
      {
        ok: false,
        skipped: true,
        reason: 'awaiting_response',
      },
    );
    expect(parser.pending).toBe(1);
    expect(
      parser.parseKServeEvent(
        RESPONSE.headers,
        Buffer.from(RESPONSE.body),
        NOW,
      ),
    ).toEqual({
      ok: true,
      event: DOCUMENTED_EVENT,
    });
    expect(parser.pending).toBe(0);
  });

  it('counts a response that comes first, without latency, and ignores its late request', () => {
    const parser = new KServeEventParser({ defaults });
    const r = parser.parseKServeEvent(RESPONSE.headers, RESPONSE.body, NOW);
    const { latencySeconds: _dropped, ...rest } = DOCUMENTED_EVENT;
    expect(r).toEqual({ ok: true, event: { ...rest, timeMs: 1618014206080 } });
    expect(parser.parseKServeEvent(REQUEST.headers, REQUEST.body, NOW)).toEqual(
      {
        ok: false,
        skipped: true,
        reason: 'late_request',
      },
    );
    expect(parser.pending).toBe(0);
  });

  it('takes the version from the endpoint and pairs per component', () => {
    const parser = new KServeEventParser({ defaults });
    const canary = (h: Record<string, string>, component: string) => ({
      ...h,
      'ce-endpoint': 'canary',
      'ce-component': component,
    });
    parser.parseKServeEvent(
      canary(REQUEST.headers, 'predictor'),
      REQUEST.body,
      NOW,
    );
    const other = parser.parseKServeEvent(
      canary(RESPONSE.headers, 'transformer'),
      RESPONSE.body,
      NOW,
    );
    expect(
      other.ok &&
        other.event.kind === 'inference' &&
        other.event.latencySeconds,
    ).toBeUndefined();
    const paired = parser.parseKServeEvent(
      canary(RESPONSE.headers, 'predictor'),
      RESPONSE.body,
      NOW,
    );
    expect(paired.ok && paired.event).toMatchObject({
      version: 'canary',
      latencySeconds: 0.001783202,
    });
  });

  it('marks KServe error bodies as errors', () => {
    const parser = new KServeEventParser({ defaults });
    const r = parser.parseKServeEvent(
      RESPONSE.headers,
      '{"error": "Model with name x does not exist."}',
      NOW,
    );
    expect(r.ok && r.event.kind === 'inference' && r.event.outcome).toBe(
      'error',
    );
  });

  it('uses the read time when events carry no time', () => {
    const parser = new KServeEventParser({ defaults });
    const { 'ce-time': _t1, ...request } = REQUEST.headers;
    const { 'ce-time': _t2, ...response } = RESPONSE.headers;
    parser.parseKServeEvent(request, REQUEST.body, NOW);
    const r = parser.parseKServeEvent(response, RESPONSE.body, NOW + 5);
    expect(r.ok && r.event).toMatchObject({ timeMs: NOW + 5 });
    expect(
      r.ok && r.event.kind === 'inference' && 'latencySeconds' in r.event,
    ).toBe(false);
  });

  it('drops the oldest waiting requests past the size limit', () => {
    const parser = new KServeEventParser({ defaults, maxPending: 2 });
    for (const id of ['a', 'b', 'c']) {
      parser.parseKServeEvent({ ...REQUEST.headers, 'ce-id': id }, '', NOW);
    }
    expect(parser.pending).toBe(2);
    expect(parser.evicted).toBe(1);
    const lost = parser.parseKServeEvent(
      { ...RESPONSE.headers, 'ce-id': 'a' },
      '',
      NOW,
    );
    expect(
      lost.ok && lost.event.kind === 'inference' && lost.event.latencySeconds,
    ).toBeUndefined();
    const kept = parser.parseKServeEvent(
      { ...RESPONSE.headers, 'ce-id': 'c' },
      '',
      NOW,
    );
    expect(
      kept.ok && kept.event.kind === 'inference' && kept.event.latencySeconds,
    ).toBe(0.001783202);
  });

  it('drops waiting requests past the age limit', () => {
    const parser = new KServeEventParser({ defaults, maxPendingSeconds: 10 });
    parser.parseKServeEvent(REQUEST.headers, REQUEST.body, NOW);
    parser.parseKServeEvent(
      { ...REQUEST.headers, 'ce-id': 'later' },
      '',
      NOW + 10_000,
    );
    expect(parser.pending).toBe(2);
    parser.parseKServeEvent(
      { ...REQUEST.headers, 'ce-id': 'last' },
      '',
      NOW + 10_001,
    );
    expect(parser.pending).toBe(2);
    expect(parser.evicted).toBe(1);
  });

  it.each<[string, CloudEventHeaders, LineResult]>([
    [
      'no type',
      { 'ce-id': 'x' },
      { ok: false, skipped: false, reason: 'missing_field', field: 'ce-type' },
    ],
    [
      'no id',
      { 'ce-type': 'org.kubeflow.serving.inference.response' },
      { ok: false, skipped: false, reason: 'missing_field', field: 'ce-id' },
    ],
    [
      'a bad time',
      {
        'ce-type': 'org.kubeflow.serving.inference.request',
        'ce-id': 'x',
        'ce-time': 'yesterday',
      },
      { ok: false, skipped: false, reason: 'bad_time', field: 'ce-time' },
    ],
    [
      'no service name',
      { 'ce-type': 'org.kubeflow.serving.inference.response', 'ce-id': 'x' },
      {
        ok: false,
        skipped: false,
        reason: 'missing_field',
        field: 'ce-inferenceservicename',
      },
    ],
    [
      'another event type',
      { 'ce-type': 'org.kubeflow.serving.inference.outlier', 'ce-id': 'x' },
      { ok: false, skipped: true, reason: 'other_type' },
    ],
  ])('answers an event with %s', (_name, headers, expected) => {
    expect(
      new KServeEventParser({ defaults }).parseKServeEvent(headers, '{}', NOW),
    ).toEqual(expected);
  });

  it('refuses bad limits, naming the option', () => {
    expect(() => new KServeEventParser({ defaults, maxPending: 0 })).toThrow(
      /max_pending: .* got 0/,
    );
    expect(
      () => new KServeEventParser({ defaults, maxPendingSeconds: -1 }),
    ).toThrow(/max_pending_seconds: .* got -1/);
  });

  it('never puts an address into an event', () => {
    const parser = new KServeEventParser({ defaults });
    const out = JSON.stringify(
      [REQUEST, RESPONSE].map((e) =>
        parser.parseKServeEvent(e.headers, e.body, NOW),
      ),
    );
    expect(out).toContain('"ok":true');
    expect(out).not.toContain('localhost');
    for (const address of ipv4Addresses(DUMP))
      expect(out).not.toContain(address);
  });
});

describe('kserveRouter', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) =>
      server ? server.close(() => resolve()) : resolve(),
    );
    server = undefined;
  });

  async function start(
    results: LineResult[],
    maxBodyBytes?: number,
  ): Promise<string> {
    const app = express();
    app.use(
      kserveRouter((r) => results.push(r), {
        defaults,
        maxBodyBytes,
        now: () => NOW,
      }),
    );
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/kserve`;
  }

  it('takes the documented pair as KServe posts it', async () => {
    const results: LineResult[] = [];
    const url = await start(results);
    for (const event of [REQUEST, RESPONSE]) {
      const res = await fetch(url, {
        method: 'POST',
        headers: event.headers,
        body: event.body,
      });
      expect(res.status).toBe(200);
    }
    expect(results).toEqual([
      { ok: false, skipped: true, reason: 'awaiting_response' },
      { ok: true, event: DOCUMENTED_EVENT },
    ]);
  });

  it('answers 400 for a malformed event and 413 for an oversized one', async () => {
    const results: LineResult[] = [];
    const url = await start(results, 64);
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'ce-type': RESPONSE.headers['ce-type']! },
      body: '{}',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('missing_field ce-id\n');
    const big = await fetch(url, {
      method: 'POST',
      headers: RESPONSE.headers,
      body: 'x'.repeat(65),
    });
    expect(big.status).toBe(413);
    expect(results).toEqual([
      { ok: false, skipped: false, reason: 'missing_field', field: 'ce-id' },
      { ok: false, skipped: false, reason: 'too_long' },
    ]);
  });
});
