import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { createLogger } from '../../src/log.js';
import { promtoolCheckMetrics } from '../e2e/helpers.js';
import { MetricStore } from '../../src/metrics/store.js';
import {
  classifyProbeError,
  flattenFields,
  parseProbeConfig,
  PROBE_FAILURE_REASONS,
  ProbeConfigError,
  redactUrl,
  snakeCase,
  startProbes,
  type ProbeHandle,
  type ProbeTarget,
} from '../../src/sources/probe.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function portOf(server: { address(): unknown }): number {
  return (server.address() as AddressInfo).port;
}

/** An HTTP model server on loopback, closed after the test. */
async function serve(handler: Handler): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${portOf(server)}/health`;
}

function json(status: number, body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
}

function target(
  name: string,
  url: string,
  extra: Partial<ProbeTarget> = {},
): ProbeTarget {
  return {
    name,
    url,
    intervalSeconds: 60,
    timeoutSeconds: 2,
    fields: { allow: [], prefix: '' },
    ...extra,
  };
}

function start(
  store: MetricStore,
  targets: ProbeTarget[],
  log = createLogger({ write: () => {} }),
): ProbeHandle {
  const handle = startProbes(store, targets, log);
  cleanups.push(() => handle.stop());
  return handle;
}

/** Probe sample lines, without the duration, whose value varies. */
function probeLines(store: MetricStore): string[] {
  return store
    .render('prometheus')
    .split('\n')
    .filter((l) => l.startsWith('inference_probe_'))
    .filter((l) => !l.startsWith('inference_probe_duration_seconds'));
}

/** The failure counter lines of one target: every reason, all zero but `counts`. */
function failureLines(
  name: string,
  counts: Record<string, number> = {},
): string[] {
  return PROBE_FAILURE_REASONS.map(
    (reason) =>
      `inference_probe_failures_total{target="${name}",reason="${reason}"} ${counts[reason] ?? 0}`,
  );
}

function durationOf(store: MetricStore, name: string): number {
  const line = store
    .render('prometheus')
    .split('\n')
    .find((l) =>
      l.startsWith(`inference_probe_duration_seconds{target="${name}"}`),
    );
  return Number(line?.split(' ')[1]);
}

describe('startProbes against loopback model servers', () => {
  it('exports up, status and the allowed fields of a healthy JSON body, flattened', async () => {
    const url = await serve(
      json(200, {
        status: 'ok',
        ready: true,
        degraded: false,
        queue: { pending: 3, inFlight: 2, oldest: { ageSeconds: 1.5 } },
        modelVersion: 'v7',
        replicas: [1, 2],
        load: 0.25,
      }),
    );
    const store = new MetricStore();
    const fields = {
      allow: ['queue.pending', 'ready', 'degraded', 'modelVersion'],
      prefix: 'queue_oldest',
    };
    await start(store, [target('ranker', url, { fields })]).probeAll();

    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="ranker"} 1',
      'inference_probe_http_status_code{target="ranker"} 200',
      ...failureLines('ranker'),
      'inference_probe_field_value{target="ranker",field="ready"} 1',
      'inference_probe_field_value{target="ranker",field="degraded"} 0',
      'inference_probe_field_value{target="ranker",field="queue_pending"} 3',
      'inference_probe_field_value{target="ranker",field="queue_oldest_age_seconds"} 1.5',
    ]);
    expect(durationOf(store, 'ranker')).toBeGreaterThan(0);
    const check = promtoolCheckMetrics(store.render('prometheus'));
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('counts a 503 as down with reason http_status, once per probe', async () => {
    const url = await serve(
      json(503, { status: 'loading', queue: { pending: 9 } }),
    );
    const store = new MetricStore();
    const fields = { allow: ['queue.pending'], prefix: '' };
    const handle = start(store, [target('ranker', url, { fields })]);
    await handle.probeAll();
    await handle.probeAll();

    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="ranker"} 0',
      'inference_probe_http_status_code{target="ranker"} 503',
      ...failureLines('ranker', { http_status: 2 }),
    ]);
  });

  it('fails a 200 whose body claims JSON but is not, and passes a plain-text OK', async () => {
    const broken = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>upstream error</html>');
    });
    const plain = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK\n');
    });
    const store = new MetricStore();
    await start(store, [
      target('broken', broken),
      target('plain', plain),
    ]).probeAll();

    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="broken"} 0',
      'inference_probe_up{target="plain"} 1',
      'inference_probe_http_status_code{target="broken"} 200',
      'inference_probe_http_status_code{target="plain"} 200',
      ...failureLines('broken', { bad_json: 1 }),
      ...failureLines('plain'),
    ]);
  });

  it('fails a plain-text body when fields are configured, since JSON was expected', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('OK');
    });
    const store = new MetricStore();
    const fields = { allow: ['queue.pending'], prefix: '' };
    await start(store, [target('ranker', url, { fields })]).probeAll();

    expect(probeLines(store)).toContain(
      'inference_probe_up{target="ranker"} 0',
    );
    expect(probeLines(store)).toContain(
      'inference_probe_failures_total{target="ranker",reason="bad_json"} 1',
    );
  });

  it('times out a server that never answers, after the timeout and not before', async () => {
    const url = await serve(() => {
      // Hold the request open without a response.
    });
    const store = new MetricStore();
    await start(store, [
      target('hung', url, { timeoutSeconds: 0.3 }),
    ]).probeAll();

    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="hung"} 0',
      ...failureLines('hung', { timeout: 1 }),
    ]);
    expect(durationOf(store, 'hung')).toBeGreaterThanOrEqual(0.29);
  });

  it('reports a socket reset by the server as reset', async () => {
    const server = createTcpServer((socket) => socket.resetAndDestroy());
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    cleanups.push(
      () => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    const url = `http://127.0.0.1:${portOf(server)}/health`;
    const store = new MetricStore();
    await start(store, [target('flaky', url)]).probeAll();

    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="flaky"} 0',
      ...failureLines('flaky', { reset: 1 }),
    ]);
  });

  it('reports a closed port as connection_refused', async () => {
    const server = createTcpServer();
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    const port = portOf(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const store = new MetricStore();
    await start(store, [
      target('gone', `http://127.0.0.1:${port}/health`),
    ]).probeAll();

    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="gone"} 0',
      ...failureLines('gone', { connection_refused: 1 }),
    ]);
  });

  it('drops the fields and status of a target that stops answering, and logs once', async () => {
    let healthy = true;
    const url = await serve((req, res) => {
      if (healthy) return json(200, { queue: { pending: 4 } })(req, res);
      req.socket.destroy();
    });
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const store = new MetricStore();
    const fields = { allow: [], prefix: 'queue' };
    const credentials = url.replace('http://', 'http://probe:s3cret@');
    const handle = start(
      store,
      [target('ranker', credentials, { fields })],
      log,
    );
    await handle.probeAll();
    expect(probeLines(store)).toContain(
      'inference_probe_field_value{target="ranker",field="queue_pending"} 4',
    );

    healthy = false;
    await handle.probeAll();
    await handle.probeAll();
    expect(probeLines(store)).toEqual([
      'inference_probe_up{target="ranker"} 0',
      ...failureLines('ranker', { reset: 2 }),
    ]);
    const failed = lines.filter((l) => l.includes('msg="probe failed"'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain('reason=reset');
    expect(lines.join('\n')).not.toContain('s3cret');

    healthy = true;
    await handle.probeAll();
    expect(probeLines(store)[0]).toBe('inference_probe_up{target="ranker"} 1');
    expect(
      lines.filter((l) => l.includes('msg="probe recovered"')),
    ).toHaveLength(1);
  });
});

describe('flattenFields', () => {
  it('turns nested keys into snake_case names joined by underscores', () => {
    const body = {
      Queue: { pendingJobs: 2, 'max-size': 10 },
      'GPU.Mem': 7,
      up: true,
    };
    expect(flattenFields(body, { allow: [], prefix: 'q' })).toEqual(
      new Map([
        ['queue_pending_jobs', 2],
        ['queue_max_size', 10],
      ]),
    );
    expect(
      flattenFields(body, { allow: ['gpu_mem', 'up'], prefix: '' }),
    ).toEqual(
      new Map([
        ['gpu_mem', 7],
        ['up', 1],
      ]),
    );
  });

  it('keeps no fields without a filter and stops at the cap', () => {
    const body = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`f${i}`, i]),
    );
    expect(flattenFields(body, { allow: [], prefix: '' }).size).toBe(0);
    const capped = flattenFields(body, { allow: [], prefix: 'f' }, 3);
    expect([...capped.keys()]).toEqual(['f0', 'f1', 'f2']);
  });

  it('leaves out strings, arrays, null and non-finite numbers', () => {
    const body = { a: 'x', b: [1], c: null, d: 1e400, e: -2 };
    expect(flattenFields(body, { allow: [], prefix: '' }).size).toBe(0);
    expect(
      flattenFields(body, { allow: ['a', 'b', 'c', 'd', 'e'], prefix: '' }),
    ).toEqual(new Map([['e', -2]]));
  });

  it('converts key spellings to snake_case', () => {
    expect(snakeCase('queueDepth')).toBe('queue_depth');
    expect(snakeCase('Queue-Depth')).toBe('queue_depth');
    expect(snakeCase('p99 latency (ms)')).toBe('p99_latency_ms');
    expect(snakeCase('--')).toBe('');
  });
});

describe('classifyProbeError', () => {
  const coded = (code: string) => Object.assign(new Error(code), { code });

  it('maps Node and undici codes, also when wrapped', () => {
    expect(classifyProbeError(coded('ENOTFOUND'))).toBe('dns');
    expect(classifyProbeError(coded('EAI_AGAIN'))).toBe('dns');
    expect(classifyProbeError(coded('EHOSTUNREACH'))).toBe('unreachable');
    expect(classifyProbeError(coded('UND_ERR_HEADERS_TIMEOUT'))).toBe(
      'timeout',
    );
    expect(classifyProbeError(coded('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(
      'tls',
    );
    const wrapped = Object.assign(new Error('fetch failed'), {
      cause: coded('ECONNRESET'),
    });
    expect(classifyProbeError(wrapped)).toBe('reset');
    const several = new AggregateError([coded('ECONNREFUSED')], 'all failed');
    expect(classifyProbeError(several)).toBe('connection_refused');
    expect(classifyProbeError(new Error('strange'))).toBe('other');
  });
});

describe('parseProbeConfig', () => {
  it('fills in the defaults and probes /health on a bare origin', () => {
    expect(
      parseProbeConfig([{ name: 'ranker', url: 'http://127.0.0.1:8080' }]),
    ).toEqual([
      {
        name: 'ranker',
        url: 'http://127.0.0.1:8080/health',
        intervalSeconds: 15,
        timeoutSeconds: 5,
        fields: { allow: [], prefix: '' },
      },
    ]);
    expect(parseProbeConfig(undefined)).toEqual([]);
  });

  it('keeps an explicit path, interval, timeout and field filter', () => {
    const [parsed] = parseProbeConfig([
      {
        name: 'search-v2',
        url: 'https://10.0.0.5:9000/v1/ready?verbose=1',
        interval_seconds: 30,
        timeout_seconds: 2.5,
        fields: { allow: ['queue.pending'], prefix: 'gpu_' },
      },
    ]);
    expect(parsed).toEqual({
      name: 'search-v2',
      url: 'https://10.0.0.5:9000/v1/ready?verbose=1',
      intervalSeconds: 30,
      timeoutSeconds: 2.5,
      fields: { allow: ['queue.pending'], prefix: 'gpu_' },
    });
  });

  it.each([
    [
      [{ name: 'a', url: 'http://h', intervall_seconds: 5 }],
      'probes[0].intervall_seconds: unknown key',
    ],
    [[{ url: 'http://h' }], 'probes[0].name: must be 1-64 letters'],
    [
      [{ name: 'a b', url: 'http://h' }],
      'probes[0].name: must be 1-64 letters',
    ],
    [[{ name: 'a' }], 'probes[0].url: is required'],
    [
      [{ name: 'a', url: 'ftp://h/x' }],
      'probes[0].url: must be http or https, got "ftp:"',
    ],
    [[{ name: 'a', url: 'not a url' }], 'probes[0].url: is not a URL'],
    [
      [{ name: 'a', url: 'http://h', interval_seconds: 0 }],
      'probes[0].interval_seconds: must be a number of seconds > 0, got 0',
    ],
    [
      [{ name: 'a', url: 'http://h', timeout_seconds: '5s' }],
      'probes[0].timeout_seconds: must be a number of seconds > 0, got "5s"',
    ],
    [
      [
        {
          name: 'a',
          url: 'http://h',
          interval_seconds: 5,
          timeout_seconds: 10,
        },
      ],
      'probes[0].timeout_seconds: must not exceed interval_seconds (5), got 10',
    ],
    [
      [{ name: 'a', url: 'http://h', fields: { allow: 'x' } }],
      'probes[0].fields.allow: must be a list of field names',
    ],
    [
      [{ name: 'a', url: 'http://h', fields: { prefix: 'Queue.' } }],
      'probes[0].fields.prefix: must be snake_case',
    ],
    [
      [{ name: 'a', url: 'http://h', fields: { deny: [] } }],
      'probes[0].fields.deny: unknown key',
    ],
    [
      [
        { name: 'a', url: 'http://h' },
        { name: 'a', url: 'http://g' },
      ],
      'probes[1].name: "a" is used twice',
    ],
    [{ name: 'a' }, 'probes: must be a list'],
  ])('rejects %j naming the key', (raw, message) => {
    expect(() => parseProbeConfig(raw)).toThrow(ProbeConfigError);
    expect(() => parseProbeConfig(raw)).toThrow(message);
  });

  it('never puts credentials of a bad URL into the message', () => {
    const raw = [{ name: 'a', url: 'gopher://user:hunter2@h/x' }];
    expect(() => parseProbeConfig(raw)).toThrow(/gopher/);
    expect(() => parseProbeConfig(raw)).not.toThrow(/hunter2/);
    expect(redactUrl('http://u:p@127.0.0.1:81/health?token=t')).toBe(
      'http://127.0.0.1:81/health',
    );
  });
});

describe('probe timeout default', () => {
  it('never exceeds a short interval when no timeout is given', () => {
    const [target] = parseProbeConfig([
      { name: 'fast', url: 'http://127.0.0.1:8080', interval_seconds: 2 },
    ]);
    expect(target!.timeoutSeconds).toBe(2);
  });
});
