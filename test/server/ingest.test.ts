import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Readable, Writable } from 'node:stream';

import express from 'express';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { runReplay } from '../../src/demo/replay.js';
import { Recorder } from '../../src/metrics/recorder.js';
import { MetricStore } from '../../src/metrics/store.js';
import {
  ingestRouter,
  type IngestRouterOptions,
} from '../../src/server/ingest.js';
import { SLICE_PATH } from '../demo/retail-rows.js';
import { promtoolCheckMetrics, sum } from '../e2e/helpers.js';

const NDJSON = 'application/x-ndjson';
const LINES = 'inference_log_lines_total';
const REQUESTS = 'inference_ingest_requests_total';

interface Pusher {
  store: MetricStore;
  post(
    path: string,
    body: string | Readable,
    type?: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  metrics(): string;
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** The push router on a fresh app on loopback, with its own store and recorder. */
async function startPusher(
  options: Partial<IngestRouterOptions> = {},
): Promise<Pusher> {
  const store = new MetricStore();
  const recorder = new Recorder(store, {
    k: [5, 10],
    windowSeconds: 300,
    attributionWindowSeconds: 1800,
    maxPendingLists: 100_000,
  });
  const app = express();
  app.use(ingestRouter({ recorder, store, ...options }));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return {
    store,
    async post(path, body, type = NDJSON, headers = {}) {
      const res = await request(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        body,
        headers: type === '' ? headers : { 'content-type': type, ...headers },
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        body: text ? JSON.parse(text) : undefined,
        headers: res.headers,
      };
    },
    metrics: () => store.render('prometheus'),
  };
}

/** A stream that keeps what is written to it. */
function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('POST /ingest', () => {
  let replayLines: string[];

  beforeAll(async () => {
    const out = collector();
    await runReplay({
      dataPath: SLICE_PATH,
      output: out.stream,
      clock: 'source',
      speedup: 0,
      limit: 20,
      progress: false,
    });
    replayLines = out
      .text()
      .split('\n')
      .filter((l) => l !== '');
  });

  it('counts a replayed batch exactly as many lines of each kind as were pushed', async () => {
    const kinds = replayLines.map(
      (l) => (JSON.parse(l) as { type: string }).type,
    );
    const inference = kinds.filter((k) => k === 'inference').length;
    const feedback = kinds.filter((k) => k === 'feedback').length;
    expect(inference).toBe(20);
    expect(feedback).toBeGreaterThan(0);
    const pusher = await startPusher();

    const res = await pusher.post('/ingest', replayLines.join('\n') + '\n');

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ok',
      accepted: inference + feedback,
      rejected: 0,
      skipped: 0,
      errors: [],
      errors_omitted: 0,
    });
    const text = pusher.metrics();
    expect(sum(text, LINES, { result: 'parsed', reason: 'ok' })).toBe(
      inference + feedback,
    );
    expect(sum(text, LINES)).toBe(inference + feedback);
    expect(sum(text, 'inference_requests_total')).toBe(inference);
    expect(sum(text, 'inference_feedback_events_total')).toBe(feedback);
    expect(sum(text, REQUESTS, { route: '/ingest', code: '200' })).toBe(1);
  });

  it('lists rejected lines by 1-based line number and still records the good ones', async () => {
    const [first, second] = replayLines;
    const body = [
      first,
      '{not json',
      '',
      '{"type":"feedback","user":"u1","action":"purchase"}',
      '{"type":"heartbeat"}',
      second,
    ].join('\r\n');
    const pusher = await startPusher();

    const res = await pusher.post(
      '/ingest',
      body,
      'application/json; charset=utf-8',
    );

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'partial',
      accepted: 2,
      rejected: 2,
      skipped: 2,
      errors: [
        { line: 2, reason: 'not_json' },
        { line: 4, reason: 'missing_field', field: 'item' },
      ],
      errors_omitted: 0,
    });
    const text = pusher.metrics();
    expect(sum(text, LINES, { result: 'parsed', reason: 'ok' })).toBe(2);
    expect(sum(text, LINES, { result: 'malformed', reason: 'not_json' })).toBe(
      1,
    );
    expect(
      sum(text, LINES, { result: 'malformed', reason: 'missing_field' }),
    ).toBe(1);
    expect(sum(text, LINES, { result: 'skipped', reason: 'blank' })).toBe(1);
    expect(sum(text, LINES, { result: 'skipped', reason: 'other_type' })).toBe(
      1,
    );
  });

  it('answers 400 when every line is rejected, listing only the first errors', async () => {
    const pusher = await startPusher({ maxErrors: 3 });
    const body = ['a', 'b', '[1]', 'c', 'd'].join('\n');

    const res = await pusher.post('/ingest', body, 'text/plain');

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'rejected',
      accepted: 0,
      rejected: 5,
      skipped: 0,
      errors: [
        { line: 1, reason: 'not_json' },
        { line: 2, reason: 'not_json' },
        { line: 3, reason: 'not_object' },
      ],
      errors_omitted: 2,
    });
    expect(sum(pusher.metrics(), LINES, { result: 'malformed' })).toBe(5);
    expect(
      sum(pusher.metrics(), REQUESTS, { route: '/ingest', code: '400' }),
    ).toBe(1);
  });

  it('marks a line over the line limit too_long', async () => {
    const pusher = await startPusher({ maxLineBytes: 64 });
    const long = JSON.stringify({
      type: 'inference',
      model: 'm',
      items: ['x'.repeat(100)],
    });
    const short = '{"type":"inference","model":"m"}';

    const res = await pusher.post('/ingest', `${short}\n${long}`);

    expect(res.body.errors).toEqual([{ line: 2, reason: 'too_long' }]);
    expect(
      sum(pusher.metrics(), LINES, { result: 'malformed', reason: 'too_long' }),
    ).toBe(1);
  });

  it('refuses a body declared over the limit with 413, naming the limit, recording nothing', async () => {
    const pusher = await startPusher({ maxBodyBytes: 1024 });
    const line = '{"type":"inference","model":"m"}\n';

    const res = await pusher.post('/ingest', line.repeat(64));

    expect(res.status).toBe(413);
    expect(res.body.error).toContain('limit of 1024 bytes');
    expect(res.headers.connection).toBe('close');
    const text = pusher.metrics();
    expect(sum(text, LINES)).toBe(0);
    expect(sum(text, REQUESTS, { route: '/ingest', code: '413' })).toBe(1);
  });

  it('stops reading a streamed body at the limit and records none of it', async () => {
    const pusher = await startPusher({ maxBodyBytes: 1024 });
    const line = '{"type":"inference","model":"m"}\n';
    const chunks = Array.from({ length: 8 }, () => line.repeat(10));

    const res = await pusher.post('/ingest', Readable.from(chunks));

    expect(res.status).toBe(413);
    expect(res.body.error).toContain('limit of 1024 bytes');
    expect(sum(pusher.metrics(), LINES)).toBe(0);
    expect(sum(pusher.metrics(), 'inference_requests_total')).toBe(0);
  });

  it('refuses other content types with 415 and empty bodies with 400', async () => {
    const pusher = await startPusher();
    const line = '{"type":"inference","model":"m"}';

    const form = await pusher.post(
      '/ingest',
      line,
      'application/x-www-form-urlencoded',
    );
    const none = await pusher.post('/ingest', line, '');
    const empty = await pusher.post('/ingest', '');
    const blank = await pusher.post('/ingest', '\n \n\n');

    expect(form.status).toBe(415);
    expect(form.body.error).toContain(
      'application/x-www-form-urlencoded not accepted',
    );
    expect(form.body.error).toContain(NDJSON);
    expect(none.status).toBe(415);
    expect(empty.status).toBe(400);
    expect(empty.body.error).toContain('empty body');
    expect(blank.status).toBe(400);
    const text = pusher.metrics();
    expect(sum(text, LINES)).toBe(0);
    expect(sum(text, REQUESTS, { route: '/ingest', code: '415' })).toBe(2);
    expect(sum(text, REQUESTS, { route: '/ingest', code: '400' })).toBe(2);
  });
});

describe('POST /data', () => {
  const JSON_TYPE = 'application/json';

  function pushedLines(text: string): string[] {
    return text
      .split('\n')
      .filter((l) => l.startsWith('inference_pushed_value{'));
  }

  it('keeps the numbers of a flat object as gauges and counts what it ignores', async () => {
    const pusher = await startPusher({ now: () => 1_700_000_000_000 });
    const body = {
      source: 'gpu-agent',
      model: 'm',
      cpu_usage: 0.3,
      gpu_mem: 123,
      ok: true,
      'bad name': 1,
    };

    const res = await pusher.post('/data', JSON.stringify(body), JSON_TYPE);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      source: 'gpu-agent',
      accepted: 2,
      ignored: 3,
      ignored_fields: [
        { field: 'model', reason: 'not_number' },
        { field: 'ok', reason: 'not_number' },
        { field: 'bad name', reason: 'bad_name' },
      ],
    });
    const text = pusher.metrics();
    expect(pushedLines(text)).toEqual([
      'inference_pushed_value{source="gpu-agent",field="cpu_usage"} 0.3',
      'inference_pushed_value{source="gpu-agent",field="gpu_mem"} 123',
    ]);
    expect(
      sum(text, 'inference_pushed_fields_ignored_total', {
        reason: 'not_number',
      }),
    ).toBe(2);
    expect(
      sum(text, 'inference_pushed_fields_ignored_total', {
        reason: 'bad_name',
      }),
    ).toBe(1);
    expect(text).toContain(
      'inference_pushed_last_timestamp_seconds{source="gpu-agent"} 1700000000',
    );
    const check = promtoolCheckMetrics(text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('takes the source from the query string and overwrites earlier values', async () => {
    const pusher = await startPusher();
    await pusher.post('/data?source=edge-1', '{"queue":4}', JSON_TYPE);
    const res = await pusher.post(
      '/data?source=edge-1',
      '{"queue":7}',
      JSON_TYPE,
    );

    expect(res.body).toMatchObject({
      source: 'edge-1',
      accepted: 1,
      ignored: 0,
    });
    expect(pushedLines(pusher.metrics())).toEqual([
      'inference_pushed_value{source="edge-1",field="queue"} 7',
    ]);
  });

  it('refuses nested values naming the key, and bad or missing sources', async () => {
    const pusher = await startPusher();
    const cases: Array<[string, string]> = [
      ['{"source":"a","gpu":{"mem":1}}', 'field "gpu" holds an object'],
      ['{"source":"a","temps":[1,2]}', 'field "temps" holds a list'],
      ['{"cpu":1}', 'no source'],
      ['{"source":"a b","cpu":1}', 'source must be 1-64 letters'],
      ['{"source":7,"cpu":1}', 'got 7'],
      ['[1,2]', 'body must be a JSON object'],
      ['{"source":', 'body is not JSON'],
    ];
    for (const [body, message] of cases) {
      const res = await pusher.post('/data', body, JSON_TYPE);
      expect(res.status, body).toBe(400);
      expect(res.body.error, body).toContain(message);
    }
    expect(pushedLines(pusher.metrics())).toEqual([]);
    const wrongType = await pusher.post(
      '/data',
      '{"source":"a","cpu":1}',
      'text/plain',
    );
    expect(wrongType.status).toBe(415);
  });

  it('stops adding fields at the series cap but still updates known ones', async () => {
    const pusher = await startPusher({ maxPushedSeries: 2 });
    await pusher.post('/data', '{"source":"a","x":1,"y":2}', JSON_TYPE);

    const res = await pusher.post(
      '/data',
      '{"source":"a","x":5,"z":3}',
      JSON_TYPE,
    );

    expect(res.body).toEqual({
      source: 'a',
      accepted: 1,
      ignored: 1,
      ignored_fields: [{ field: 'z', reason: 'over_limit' }],
    });
    expect(pushedLines(pusher.metrics())).toEqual([
      'inference_pushed_value{source="a",field="x"} 5',
      'inference_pushed_value{source="a",field="y"} 2',
    ]);
  });
});

describe('ingestRouter options', () => {
  it('rejects a limit that is not a whole number', () => {
    const store = new MetricStore();
    const recorder = { line: () => {} };
    expect(() => ingestRouter({ recorder, store, maxBodyBytes: 0 })).toThrow(
      'ingest option maxBodyBytes must be a whole number >= 1, got 0',
    );
  });
});

describe('push routes and HTTP edge cases', () => {
  it('refuses compressed bodies with 415 and other methods with 405', async () => {
    const pusher = await startPusher();
    const gzip = await pusher.post('/ingest', 'not really gzip', NDJSON, {
      'content-encoding': 'gzip',
    });
    expect(gzip.status).toBe(415);
    expect(gzip.body.error).toContain('content encoding gzip not accepted');
    expect(sum(pusher.metrics(), LINES)).toBe(0);

    const app = express();
    app.use(
      ingestRouter({ recorder: { line: () => {} }, store: new MetricStore() }),
    );
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    for (const path of ['/ingest', '/data']) {
      const res = await request(`http://127.0.0.1:${port}${path}`);
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe('POST');
      await res.body.text();
    }
  });
});
