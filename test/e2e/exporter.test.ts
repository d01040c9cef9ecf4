/**
 * The CLI on the bundled real shop data: the demo replay writes a log, the
 * exporter tails it, and what /metrics says is compared with counts made
 * independently from the same log.
 */
import {
  appendFileSync,
  statSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';
import {
  promtoolCheckMetrics,
  runCliToEnd,
  scrape,
  startCli,
  sum,
  waitFor,
  type RunningCli,
} from './helpers.js';
import { referenceQuality } from './reference.js';

const K = [5, 10];
const WINDOW_SECONDS = 1800;

let dir: string;
let logFile: string;
let lines: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ie-e2e-'));
  logFile = join(dir, 'model-server.jsonl');
  await runReplay({
    dataPath: defaultDataPath(),
    output: logFile,
    clock: 'source',
    speedup: 0,
    progress: false,
    limit: 600,
  });
  lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Scrapes until every line of the log has been counted. */
async function scrapeWhenCaughtUp(
  cli: RunningCli,
  expectedLines: number,
): Promise<string> {
  let text = '';
  await waitFor(
    async () => {
      text = (await scrape(cli.port)).text;
      return sum(text, 'inference_log_lines_total') === expectedLines;
    },
    30_000,
    `${expectedLines} lines counted`,
  );
  return text;
}

function expectQualityToMatch(text: string, log: string[]): void {
  const reference = referenceQuality(log, WINDOW_SECONDS, K);
  expect(reference.size).toBeGreaterThanOrEqual(3);
  for (const [key, ref] of reference) {
    const [model, version, scene] = key.split('/') as [string, string, string];
    const labels = { model, version, scene };
    expect(sum(text, 'inference_requests_total', labels), key).toBe(
      ref.requests,
    );
    expect(sum(text, 'inference_quality_lists_total', labels), key).toBe(
      ref.lists,
    );
    expect(
      sum(text, 'inference_quality_recommended_items_total', labels),
      key,
    ).toBe(ref.recommended);
    expect(
      sum(text, 'inference_quality_relevant_items_total', labels),
      key,
    ).toBe(ref.relevant);
    expect(sum(text, 'inference_quality_hits_total', labels), key).toBe(
      ref.hits,
    );
    for (const k of K) {
      const at = { ...labels, k: String(k) };
      expect(
        sum(text, 'inference_quality_hits_at_k_total', at),
        `${key}@${k}`,
      ).toBe(ref.hitsAt[k]);
      expect(
        sum(text, 'inference_quality_lists_hit_at_k_total', at),
        `${key}@${k}`,
      ).toBe(ref.listsHitAt[k]);
      expect(sum(text, 'inference_quality_dcg_at_k_total', at)).toBeCloseTo(
        ref.dcgAt[k]!,
        9,
      );
      expect(
        sum(text, 'inference_quality_ideal_dcg_at_k_total', at),
      ).toBeCloseTo(ref.idealDcgAt[k]!, 9);
    }
  }
  const hits = [...reference.values()].reduce((n, r) => n + r.hits, 0);
  expect(hits).toBeGreaterThan(0);
}

describe('inference-exporter on the replayed shop data', () => {
  it('serves request, latency and quality metrics equal to an independent count', async () => {
    const cli = await startCli([
      `--source.path=${logFile}`,
      '--tail.from-beginning',
    ]);
    try {
      const text = await scrapeWhenCaughtUp(cli, lines.length);
      expect(sum(text, 'inference_log_lines_total', { result: 'parsed' })).toBe(
        lines.length,
      );
      expectQualityToMatch(text, lines);

      const inference = lines.filter((l) => l.includes('"type":"inference"'));
      expect(sum(text, 'inference_request_duration_seconds_count')).toBe(
        inference.length,
      );
      expect(
        sum(text, 'inference_request_duration_seconds_bucket', { le: '+Inf' }),
      ).toBe(inference.length);
      // Feedback past the last list read waits up to five seconds for more.
      const feedback = lines.length - inference.length;
      await waitFor(
        async () =>
          sum(
            (await scrape(cli.port)).text,
            'inference_feedback_events_total',
          ) === feedback,
        15_000,
        'every feedback event counted',
      );
      expect(sum(text, 'inference_host_memory_total_bytes')).toBeGreaterThan(0);
      expect(text).toMatch(
        /^inference_exporter_build_info\{version="\d+\.\d+\.\d+",nodejs_version="[\d.]+"\} 1$/m,
      );
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);

      const check = promtoolCheckMetrics(text);
      expect(check.output).toBe('');
      expect(check.status).toBe(0);
    } finally {
      await cli.stop();
    }
  });

  it('serves OpenMetrics when asked, and the landing and health pages', async () => {
    const cli = await startCli([
      `--source.path=${logFile}`,
      '--no-collector.host',
    ]);
    try {
      const om = await scrape(
        cli.port,
        'application/openmetrics-text;version=1.0.0,text/plain;q=0.5',
      );
      expect(om.type).toMatch(/^application\/openmetrics-text;/);
      expect(om.type).toContain('version=1.0.0');
      expect(om.text.endsWith('# EOF\n')).toBe(true);
      expect(om.text).toContain('# TYPE inference_requests counter');
      // promtool reads only the classic format, so OpenMetrics rules are checked here.
      expect(om.text).toContain('# HELP inference_requests Inference requests');
      expect(om.text).toMatch(
        /^inference_attribution_evictions_total\{reason="age"\} 0$/m,
      );
      expect(om.text.match(/^# EOF$/gm)).toHaveLength(1);

      const plain = await scrape(cli.port);
      expect(plain.type).toMatch(/^text\/plain;/);
      expect(plain.type).toContain('version=0.0.4');
      expect(plain.text).toContain('# TYPE inference_requests_total counter');

      const landing = await (
        await fetch(`http://127.0.0.1:${cli.port}/`)
      ).text();
      expect(landing).toContain('<a href="./metrics">Metrics</a>');
      expect(
        (await fetch(`http://127.0.0.1:${cli.port}/-/healthy`)).status,
      ).toBe(200);
      expect((await fetch(`http://127.0.0.1:${cli.port}/-/ready`)).status).toBe(
        200,
      );
    } finally {
      await cli.stop();
    }
  });

  it('after kill -9 and a restart, neither loses nor repeats a line, and counters carry on', async () => {
    const restartDir = mkdtempSync(join(dir, 'restart-'));
    const log = join(restartDir, 'model-server.jsonl');
    const positions = join(restartDir, 'positions.json');
    const half = Math.floor(lines.length / 2);
    writeFileSync(log, lines.slice(0, half).join('\n') + '\n');
    const args = [
      `--source.path=${log}`,
      `--positions.file=${positions}`,
      '--tail.from-beginning',
      '--no-collector.host',
    ];

    const first = await startCli(args);
    await scrapeWhenCaughtUp(first, half);
    // Positions are saved every second; wait for a save that covers all lines.
    await waitFor(
      async () => {
        try {
          const saved = JSON.parse(readFileSync(positions, 'utf8'));
          return (
            saved.files[0]?.offset ===
            Buffer.byteLength(lines.slice(0, half).join('\n') + '\n')
          );
        } catch {
          return false;
        }
      },
      10_000,
      'positions saved',
    );
    await first.stop('SIGKILL');

    appendFileSync(log, lines.slice(half).join('\n') + '\n');
    const second = await startCli(args);
    try {
      const text = await scrapeWhenCaughtUp(second, lines.length);
      expect(sum(text, 'inference_log_lines_total')).toBe(lines.length);
      // Counters of the tailer itself carry on too.
      expect(sum(text, 'inference_log_read_bytes_total')).toBe(
        statSync(log).size,
      );
      expect(sum(text, 'inference_requests_total')).toBe(
        lines.filter((l) => l.includes('"type":"inference"')).length,
      );
    } finally {
      await second.stop();
    }
  });

  it('counts malformed lines with a reason, logs where they are, and keeps going', async () => {
    const badLog = join(dir, 'bad.jsonl');
    writeFileSync(
      badLog,
      [
        '{"type":"inference","model":"m","items":["a"]}',
        'not json',
        '{"type":"feedback","item":"a","user":"u"}',
        '',
      ].join('\n'),
    );
    const cli = await startCli([
      `--source.path=${badLog}`,
      '--tail.from-beginning',
      '--no-collector.host',
    ]);
    try {
      const text = await scrapeWhenCaughtUp(cli, 3);
      expect(
        sum(text, 'inference_log_lines_total', {
          result: 'malformed',
          reason: 'not_json',
        }),
      ).toBe(1);
      expect(
        sum(text, 'inference_log_lines_total', {
          result: 'malformed',
          reason: 'missing_field',
        }),
      ).toBe(1);
      expect(sum(text, 'inference_requests_total')).toBe(1);
      expect(cli.stderr()).toContain(
        `msg="malformed line" component=parse file=${badLog} line=2 reason=not_json`,
      );
      expect(cli.stderr()).toContain(
        `line=3 reason=missing_field field=action`,
      );
    } finally {
      await cli.stop();
    }
  });
});

describe('inference-exporter refuses bad start-up input with one clear message', () => {
  it('names the key and line of a bad config', () => {
    const config = join(dir, 'bad.yml');
    writeFileSync(config, 'attribution:\n  window_secs: 60\n');
    const r = runCliToEnd([`--config.file=${config}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `inference-exporter: config error: ${config}:2: attribution.window_secs: unknown key (known here: window_seconds, max_pending_lists, k, hold_feedback_seconds, max_held_feedback)\n`,
    );
  });

  it('says when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker.listen(0, '127.0.0.1', resolve),
    );
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = runCliToEnd([
        `--web.listen-address=127.0.0.1:${port}`,
        '--no-collector.host',
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `inference-exporter: cannot listen on 127.0.0.1:${port}: the address is already in use`,
      );
    } finally {
      blocker.close();
    }
  });

  it('rejects an unknown flag and a bad listen address', () => {
    const unknown = runCliToEnd(['--web.listen-adress=:1']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--web.listen-adress'");
    const bad = runCliToEnd(['--web.listen-address=localhost']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--web.listen-address: expected [host]:port');
  });
});

describe('inference-exporter behind --web.config.file', () => {
  it('asks for basic auth on every route and writes a masked audit line per request', async () => {
    const bcrypt = (await import('bcryptjs')).default;
    const webConfig = join(dir, 'web.yml');
    writeFileSync(
      webConfig,
      `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 4)}\n`,
    );
    const cli = await startCli([
      `--web.config.file=${webConfig}`,
      '--no-collector.host',
    ]);
    try {
      const url = `http://127.0.0.1:${cli.port}`;
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/`)).status).toBe(401);
      expect((await fetch(`${url}/api/v1/status`)).status).toBe(401);
      // Orchestrators' probes carry no credentials; these two say nothing else.
      expect((await fetch(`${url}/-/healthy`)).status).toBe(200);
      expect((await fetch(`${url}/-/ready`)).status).toBe(200);
      const auth = {
        authorization: `Basic ${Buffer.from('prometheus:s3cret').toString('base64')}`,
      };
      const ok = await fetch(`${url}/metrics`, { headers: auth });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('inference_exporter_build_info');
      await waitFor(
        async () => cli.stderr().includes('user=prometheus'),
        5_000,
        'audit line',
      );
      expect(cli.stderr()).toMatch(
        /component=audit msg=request method=GET route=\/metrics status=200 .*user=prometheus client=127\.0\.0\.0/,
      );
      expect(cli.stderr()).not.toContain('127.0.0.1 ');
    } finally {
      await cli.stop();
    }
  });

  it('refuses to start on a bad web config, naming its key', () => {
    const webConfig = join(dir, 'bad-web.yml');
    writeFileSync(webConfig, 'basic_auth_user:\n  a: b\n');
    const r = runCliToEnd([`--web.config.file=${webConfig}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${webConfig}:1: basic_auth_user`);
  });
});

describe('inference-exporter with a health probe and push ingest', () => {
  it('probes the model server from the config file and accepts pushed events when enabled', async () => {
    const health = createServer((socket) => {
      socket.once('data', () => {
        const body = '{"status":"ok","queue":{"pending":3}}';
        socket.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) =>
      health.listen(0, '127.0.0.1', resolve),
    );
    const healthPort = (health.address() as { port: number }).port;
    const config = join(dir, 'probe.yml');
    writeFileSync(
      config,
      [
        'probes:',
        '  - name: model-server',
        `    url: http://127.0.0.1:${healthPort}/health`,
        '    interval_seconds: 1',
        '    timeout_seconds: 1',
        '    fields:',
        '      allow: [queue.pending]',
        '',
      ].join('\n'),
    );
    const cli = await startCli([
      `--config.file=${config}`,
      '--web.enable-ingest',
      '--no-collector.host',
    ]);
    try {
      await waitFor(
        async () =>
          sum((await scrape(cli.port)).text, 'inference_probe_up', {
            target: 'model-server',
          }) === 1,
        10_000,
        'probe up',
      );
      const text = (await scrape(cli.port)).text;
      expect(
        sum(text, 'inference_probe_field_value', {
          target: 'model-server',
          field: 'queue_pending',
        }),
      ).toBe(3);
      expect(
        sum(text, 'inference_probe_http_status_code', {
          target: 'model-server',
        }),
      ).toBe(200);

      const batch = lines.slice(0, 40);
      const res = await fetch(`http://127.0.0.1:${cli.port}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: [...batch, 'not json'].join('\n') + '\n',
      });
      expect(res.status).toBe(200);
      const summary = (await res.json()) as {
        status: string;
        accepted: number;
        rejected: number;
        errors: unknown[];
      };
      expect(summary).toMatchObject({
        status: 'partial',
        accepted: 40,
        rejected: 1,
      });
      expect(summary.errors).toEqual([{ line: 41, reason: 'not_json' }]);
      const after = (await scrape(cli.port)).text;
      expect(
        sum(after, 'inference_log_lines_total', { result: 'parsed' }),
      ).toBe(40);
      expect(sum(after, 'inference_requests_total')).toBe(
        batch.filter((l) => l.includes('"type":"inference"')).length,
      );

      health.close();
      await waitFor(
        async () =>
          sum((await scrape(cli.port)).text, 'inference_probe_up', {
            target: 'model-server',
          }) === 0,
        10_000,
        'probe down',
      );
      const down = (await scrape(cli.port)).text;
      expect(
        sum(down, 'inference_probe_failures_total', {
          target: 'model-server',
          reason: 'connection_refused',
        }),
      ).toBeGreaterThan(0);
    } finally {
      health.close();
      await cli.stop();
    }
  });

  it('does not serve /ingest unless asked to', async () => {
    const cli = await startCli(['--no-collector.host']);
    try {
      const res = await fetch(`http://127.0.0.1:${cli.port}/ingest`, {
        method: 'POST',
        body: '{}',
      });
      expect(res.status).toBe(404);
    } finally {
      await cli.stop();
    }
  });
});

describe('inference-exporter on a TorchServe access log', () => {
  it('counts the requests of a real documentation sample by model and outcome', async () => {
    const fixture = new URL(
      '../formats/fixtures/torchserve-access/logging-md.log',
      import.meta.url,
    ).pathname;
    const config = join(dir, 'torchserve.yml');
    writeFileSync(
      config,
      `sources:\n  - paths: ['${fixture}']\n    format: torchserve-access\n    from_beginning: true\n`,
    );
    const cli = await startCli([
      `--config.file=${config}`,
      '--no-collector.host',
    ]);
    try {
      const text = await scrapeWhenCaughtUp(cli, 1);
      expect(
        sum(text, 'inference_requests_total', {
          model: 'resnet-18',
          outcome: 'ok',
        }),
      ).toBe(1);
      expect(
        sum(text, 'inference_request_duration_seconds_sum', {
          model: 'resnet-18',
        }),
      ).toBeCloseTo(0.118, 9);
      expect(text).not.toContain('127.0.0.1');
    } finally {
      await cli.stop();
    }
  });
});

describe('inference-exporter receiving KServe logger events', () => {
  it('pairs a request and its response from the documented dump into one timed inference', async () => {
    const cli = await startCli(['--web.enable-ingest', '--no-collector.host']);
    // The event pair of kserve/kserve docs/samples/logger/basic/README.md.
    const common = {
      'ce-specversion': '1.0',
      'ce-source': 'http://localhost:9081/',
      'ce-id': '0009174a-24a8-4603-b098-09c8799950e9',
      'ce-inferenceservicename': 'sklearn-iris',
      'ce-namespace': 'default',
      'content-type': 'application/json',
    };
    const post = (type: string, time: string, body: unknown) =>
      fetch(`http://127.0.0.1:${cli.port}/kserve`, {
        method: 'POST',
        headers: { ...common, 'ce-type': type, 'ce-time': time },
        body: JSON.stringify(body),
      });
    try {
      const request = await post(
        'org.kubeflow.serving.inference.request',
        '2021-04-10T00:23:26.0789529Z',
        {
          instances: [
            [6.8, 2.8, 4.8, 1.4],
            [6.0, 3.4, 4.5, 1.6],
          ],
        },
      );
      expect(request.status).toBe(200);
      const response = await post(
        'org.kubeflow.serving.inference.response',
        '2021-04-10T00:23:26.080736102Z',
        { predictions: [1, 1] },
      );
      expect(response.status).toBe(200);
      const text = (await scrape(cli.port)).text;
      const labels = { model: 'sklearn-iris' };
      expect(
        sum(text, 'inference_requests_total', { ...labels, outcome: 'ok' }),
      ).toBe(1);
      // 26.080736102 - 26.0789529 s, to the nanosecond.
      expect(
        sum(text, 'inference_request_duration_seconds_sum', labels),
      ).toBeCloseTo(0.001783202, 9);
    } finally {
      await cli.stop();
    }
  });
});

describe('inference and feedback in separate files', () => {
  it.each([
    ['feedback', 'inference'],
    ['inference', 'feedback'],
  ])(
    'gives the same quality whichever is read first (%s file first)',
    async (first, second) => {
      const isInference = (l: string) => l.includes('"type":"inference"');
      const files: Record<string, string> = {
        inference: join(dir, `split-${first}-inference.jsonl`),
        feedback: join(dir, `split-${first}-feedback.jsonl`),
      };
      writeFileSync(
        files.inference!,
        lines.filter(isInference).join('\n') + '\n',
      );
      writeFileSync(
        files.feedback!,
        lines.filter((l) => !isInference(l)).join('\n') + '\n',
      );
      const config = join(dir, `split-${first}.yml`);
      const source = (kind: string) =>
        `  - paths: ['${files[kind]}']\n    type: ${kind}\n    from_beginning: true\n`;
      writeFileSync(config, `sources:\n${source(first)}${source(second)}`);
      const cli = await startCli([
        `--config.file=${config}`,
        '--no-collector.host',
      ]);
      try {
        await scrapeWhenCaughtUp(cli, lines.length);
        const feedback = lines.filter((l) => !isInference(l)).length;
        let text = '';
        await waitFor(
          async () => {
            text = (await scrape(cli.port)).text;
            return sum(text, 'inference_feedback_events_total') === feedback;
          },
          15_000,
          'every feedback event counted',
        );
        // The data's times are whole minutes, and a customer may have two
        // invoices in one minute; read from one file, the order of the lines
        // tells them apart, read from two it cannot. So lists and
        // recommendations must match exactly, credits to within 3%.
        const reference = referenceQuality(lines, WINDOW_SECONDS, K);
        for (const [key, ref] of reference) {
          const [model, version, scene] = key.split('/') as [
            string,
            string,
            string,
          ];
          const labels = { model, version, scene };
          expect(sum(text, 'inference_quality_lists_total', labels)).toBe(
            ref.lists,
          );
          expect(
            sum(text, 'inference_quality_recommended_items_total', labels),
          ).toBe(ref.recommended);
          const relevant = sum(
            text,
            'inference_quality_relevant_items_total',
            labels,
          );
          const hits = sum(text, 'inference_quality_hits_total', labels);
          expect(Math.abs(relevant - ref.relevant)).toBeLessThanOrEqual(
            ref.relevant * 0.03,
          );
          expect(Math.abs(hits - ref.hits)).toBeLessThanOrEqual(
            Math.max(2, ref.hits * 0.05),
          );
        }
        expect(
          sum(text, 'inference_feedback_events_total', { attribution: 'none' }),
        ).toBeLessThanOrEqual(feedback * 0.01);
      } finally {
        await cli.stop();
      }
    },
  );
});
