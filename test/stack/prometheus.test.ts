/**
 * The generated bundle against real components: the demo model server
 * replaying shop data and answering /health, the exporter tailing its log
 * and probing it, a loopback stand-in serving recorded Triton, TorchServe
 * and vLLM /metrics as the model-server target, a real Prometheus scraping
 * all of it with the generated config and rules (addresses rewritten to
 * loopback), and a real Alertmanager. Every recording rule and dashboard
 * query must return data; then the traffic stops, and the QPS-drop alert
 * must fire and reach its webhooks.
 */
import express from 'express';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  validateBundleConfig,
  type BundleConfig,
} from '../../src/bundle/config.js';
import { allPanelQueries } from '../../src/bundle/dashboards/queries.js';
import { generateBundle } from '../../src/bundle/files.js';
import { main as demoMain } from '../../src/demo/main.js';
import { remediation } from '../../src/metrics/definitions.js';
import {
  scrape,
  startCli,
  sum,
  waitFor,
  type RunningCli,
} from '../e2e/helpers.js';
import { freePort, query, startService, type Service } from './services.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Recorded /metrics of the three servers; see fixtures/model-server/SOURCES.md. */
const NATIVE_SAMPLES = ['triton.prom', 'torchserve.prom', 'vllm.prom'].map(
  (f) => readFileSync(join(FIXTURES, 'model-server', f), 'utf8'),
);
/** Recorded nvidia-smi output of a GeForce under load, every field present. */
const NVIDIA_SMI_CSV = fileURLToPath(
  new URL(
    '../host/fixtures/nvidia-smi/rtx-4080-super-load.csv',
    import.meta.url,
  ),
);

interface Delivery {
  path: string;
  body: {
    status: string;
    alerts: Array<{ status: string; labels: Record<string, string> }>;
  };
}

let dir: string;
let logFile: string;
let exporter: RunningCli;
let prometheus: Service;
let alertmanager: Service;
let webhook: Server;
let modelServerMetrics: Server;
let bundleConfig: BundleConfig;
const deliveries: Delivery[] = [];
const traffic = new AbortController();
const demoLog: string[] = [];
let replay: Promise<number>;
let panelQueries: ReturnType<typeof allPanelQueries>;

/** Shortens every Alertmanager wait so a test sees a notification in seconds. */
function hurryAlertmanager(text: string): string {
  const doc = parse(text);
  const visit = (route: Record<string, unknown>) => {
    if ('group_wait' in route || route === doc.route) route.group_wait = '1s';
    if ('group_interval' in route || route === doc.route)
      route.group_interval = '1s';
    for (const child of (route.routes as Array<Record<string, unknown>>) ?? [])
      visit(child);
  };
  visit(doc.route);
  return stringify(doc);
}

async function startWebhook(port: number): Promise<Server> {
  const app = express();
  app.use(express.json({ limit: '1mb' }));
  app.post(/.*/, (req, res) => {
    deliveries.push({ path: req.path, body: req.body });
    res.status(200).end();
  });
  return new Promise((resolve) => {
    const server = app.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The demo model server as `npm run demo` runs it, in this process. A day
 * of data a second: a 10 s window then spans ten days, so the shop's daily
 * cycle does not look like a drop. Resolves to its /health address.
 */
async function startDemo(): Promise<string> {
  const io = {
    stdout: () => undefined,
    stderr: (text: string) => void demoLog.push(text),
    progress: { write: () => true },
    signal: traffic.signal,
  };
  const args = [
    `--output=${logFile}`,
    '--speedup=86400',
    '--loop',
    '--no-progress',
    '--web.listen-address=127.0.0.1:0',
  ];
  replay = demoMain(args, io);
  let address: string | undefined;
  await waitFor(
    async () => {
      address = /msg="health endpoint listening" address=(\S+)/.exec(
        demoLog.join(''),
      )?.[1];
      return address !== undefined;
    },
    10_000,
    `demo health endpoint:\n${demoLog.join('')}`,
  );
  return address!;
}

/** A stand-in for nvidia-smi that prints a recorded query result. */
function fakeNvidiaSmi(): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'nvidia-smi'),
    `#!/bin/sh\ncat '${NVIDIA_SMI_CSV}'\n`,
  );
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

/**
 * The exporter tailing the demo's log, probing its /health every second,
 * and reading GPUs through the recorded nvidia-smi (no GPU on the test
 * machine). A second source path that does not exist yet is what a fresh
 * deployment often has; its failed stats feed the tail-errors panel.
 */
async function startExporter(health: string): Promise<RunningCli> {
  const exporterConfig = join(dir, 'exporter.yml');
  writeFileSync(
    exporterConfig,
    [
      'probes:',
      '  - name: model-server',
      `    url: http://${health}/health`,
      '    interval_seconds: 1',
      '    timeout_seconds: 1',
      '    fields: { allow: [invoices_served, lists_served] }',
      'remediation:',
      '  enabled: true',
      '  dry_run: true',
      '  rules:',
      '    - name: failover-recommender',
      '      match: { alertname: InferenceQPSDrop, action: failover }',
      '      action: { type: failover, standby: recommender-standby, file: ' +
        join(dir, 'active-endpoint') +
        ' }',
      '',
    ].join('\n'),
  );
  const path = process.env.PATH;
  // startCli spawns before its first await, so only the exporter sees it.
  process.env.PATH = `${fakeNvidiaSmi()}${delimiter}${path}`;
  const starting = startCli([
    `--source.path=${logFile}`,
    `--source.path=${join(dir, 'not-created-yet.jsonl')}`,
    '--tail.from-beginning',
    `--config.file=${exporterConfig}`,
  ]);
  process.env.PATH = path;
  return starting;
}

/** The model server's own /metrics: the three recorded samples, back to back. */
async function startModelServerMetrics(port: number): Promise<Server> {
  const app = express();
  app.get('/metrics', (_req, res) => {
    res
      .type('text/plain; version=0.0.4; charset=utf-8')
      .send(NATIVE_SAMPLES.join(''));
  });
  return new Promise((resolve) => {
    const server = app.listen(port, '127.0.0.1', () => resolve(server));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ie-stack-'));
  logFile = join(dir, 'model-server.jsonl');
  writeFileSync(logFile, '');
  exporter = await startExporter(await startDemo());

  const [promPort, amPort, hookPort, nativePort, nobody] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  webhook = await startWebhook(hookPort);
  modelServerMetrics = await startModelServerMetrics(nativePort);
  const config = validateBundleConfig({
    exporterTarget: `127.0.0.1:${exporter.port}`,
    prometheusTarget: `127.0.0.1:${promPort}`,
    alertmanagerTarget: `127.0.0.1:${amPort}`,
    modelServerTarget: `127.0.0.1:${nativePort}`,
    smtpSmarthost: `127.0.0.1:${nobody}`,
    pagerWebhookUrl: `http://127.0.0.1:${hookPort}/pager`,
    remediationWebhookUrl: `http://127.0.0.1:${exporter.port}/-/remediate`,
    scrapeIntervalSeconds: 1,
    evaluationIntervalSeconds: 1,
    recordingWindows: ['10s', '1m', '5m'],
    alertWindow: '10s',
    qpsDropDayOffset: '20s',
    qpsDropWeekOffset: '25s',
    qpsDropFor: '1s',
    qpsDropFloorThreshold: 0.05,
  });
  bundleConfig = config;
  panelQueries = allPanelQueries(config);
  for (const [path, text] of generateBundle(config)) {
    const file = join(dir, 'bundle', path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      path === 'alertmanager/alertmanager.yml' ? hurryAlertmanager(text) : text,
    );
  }

  alertmanager = await startService(
    'alertmanager',
    'prometheus-alertmanager',
    [
      `--config.file=${join(dir, 'bundle/alertmanager/alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ],
    amPort,
    '/-/ready',
  );
  prometheus = await startService(
    'prometheus',
    'prometheus',
    [
      `--config.file=${join(dir, 'bundle/prometheus/prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    promPort,
    '/-/ready',
  );
}, 90_000);

afterAll(async () => {
  traffic.abort();
  await replay.catch(() => undefined);
  await prometheus?.stop();
  await alertmanager?.stop();
  await exporter?.stop();
  // A server that never started has nothing to close, and no callback.
  for (const server of [webhook, modelServerMetrics]) {
    if (server) await new Promise((resolve) => server.close(resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Panels with data only once an alert fired: firing alerts, remediation decisions. */
function waitsForAlert(expr: string): boolean {
  return expr.includes('ALERTS') || expr.includes(remediation.decisions.name);
}

/**
 * Native queries over vLLM series the recorded sample leaves out
 * (fixtures/model-server/SOURCES.md); a test below pins them down.
 */
function notInSamples(expr: string): boolean {
  const m = bundleConfig.modelServerMetrics;
  return (
    expr.includes(m.vllmRequestsWaiting) ||
    expr.includes(m.vllmE2eRequestLatencySeconds)
  );
}

/** Queries that return nothing, polled until none is left or time runs out. */
async function emptyQueries(
  exprs: string[],
  timeoutMs: number,
): Promise<string[]> {
  let empty = exprs;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const results = await Promise.all(
      empty.map((expr) => query(prometheus.url, expr)),
    );
    empty = empty.filter((_, i) => results[i]!.length === 0);
    if (empty.length === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return empty;
}

describe('the bundle on a real Prometheus and Alertmanager', () => {
  it('scrapes the exporter, and every recording rule returns data', async () => {
    await waitFor(
      async () =>
        (await query(prometheus.url, 'up{job="inference-exporter"} == 1'))
          .length === 1,
      30_000,
      'exporter scraped',
    );
    const res = await fetch(`${prometheus.url}/api/v1/rules?type=record`);
    const groups = (
      (await res.json()) as {
        data: {
          groups: Array<{ rules: Array<{ name: string; health: string }> }>;
        };
      }
    ).data.groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(20);
    expect(
      await emptyQueries(
        rules.map((r) => r.name),
        60_000,
      ),
    ).toEqual([]);
    expect(rules.filter((r) => r.health === 'err')).toEqual([]);
  }, 90_000);

  it('returns data for every dashboard panel query but those that wait for an alert', async () => {
    // A rotation as copytruncate makes it: the replay keeps appending.
    truncateSync(logFile, 0);
    await waitFor(
      async () =>
        sum(
          (await scrape(exporter.port)).text,
          'inference_log_rotations_total',
          { kind: 'truncate' },
        ) >= 1,
      10_000,
      'truncate rotation',
    );

    const exprs = [...new Set(panelQueries.map((q) => q.expr))].filter(
      (e) => !waitsForAlert(e) && !notInSamples(e),
    );
    expect(exprs.length).toBeGreaterThan(45);
    expect(await emptyQueries(exprs, 60_000)).toEqual([]);
  }, 90_000);

  it('shows the recorded native metrics and GPU values, not just any series', async () => {
    expect(
      await query(
        prometheus.url,
        `up{job="${bundleConfig.modelServerJob}"} == 1`,
      ),
    ).toHaveLength(1);
    const value = async (expr: string) =>
      (await query(prometheus.url, expr)).map((s) => [
        s.metric,
        Number(s.value[1]),
      ]);
    const m = bundleConfig.modelServerMetrics;
    // 8 running requests in vllm.prom, 0 pending in triton.prom.
    expect(
      await value(`sum by (model_name) (${m.vllmRequestsRunning})`),
    ).toEqual([[{ model_name: 'meta-llama/Llama-3.1-8B-Instruct' }, 8]]);
    expect(
      await value(`sum by (model, version) (${m.tritonPendingRequests})`),
    ).toEqual([[{ model: 'tensorrt_llm', version: '1' }, 0]]);
    // 7 %, 1474 MiB and 84.24 W in the recorded nvidia-smi row.
    expect(
      await value('sum by (gpu) (inference_host_gpu_utilization_ratio)'),
    ).toEqual([[{ gpu: '0' }, 0.07]]);
    expect(
      await value('sum by (gpu) (inference_host_gpu_memory_used_bytes)'),
    ).toEqual([[{ gpu: '0' }, 1474 * 1024 * 1024]]);
    expect(
      await value('sum by (gpu) (inference_host_gpu_power_watts)'),
    ).toEqual([[{ gpu: '0' }, 84.24]]);
    // The probe reads the demo's own count of served invoices.
    const served = await value(
      'inference_probe_field_value{field="invoices_served"}',
    );
    expect(served).toHaveLength(1);
    expect(served[0]![1]).toBeGreaterThan(0);
  }, 30_000);

  it('leaves empty only the native queries whose series the vLLM sample skips', () => {
    const skipped = [...new Set(panelQueries.map((q) => q.expr))].filter(
      notInSamples,
    );
    // Three latency quantiles and the waiting gauge.
    expect(skipped).toHaveLength(4);
    const m = bundleConfig.modelServerMetrics;
    for (const name of [
      m.vllmRequestsWaiting,
      m.vllmE2eRequestLatencySeconds,
    ]) {
      expect(NATIVE_SAMPLES.join('')).not.toContain(name);
    }
  });

  it('fires InferenceQPSDrop when traffic stops; Alertmanager pages and the remediation receiver decides a dry-run failover', async () => {
    // The drop compares with 20 s and 25 s earlier: let traffic run past both.
    await waitFor(
      async () => {
        const r = await query(
          prometheus.url,
          'sum(rate(inference_requests_total[10s] offset 25s)) > 0.5',
        );
        return r.length === 1;
      },
      60_000,
      'steady traffic 25 s ago',
    );
    expect(deliveries.filter((d) => d.path === '/pager')).toEqual([]);
    traffic.abort();
    await replay;

    await waitFor(
      async () => deliveries.some((d) => d.path === '/pager'),
      60_000,
      'pager webhook called',
    );
    const page = deliveries.find((d) => d.path === '/pager')!;
    const alert = page.body.alerts.find(
      (a) => a.labels.alertname === 'InferenceQPSDrop',
    );
    expect(alert?.status).toBe('firing');
    expect(alert?.labels.action).toBe('failover');
    expect(alert?.labels.severity).toBe('critical');

    // The exporter's own receiver got the same alert and decided, in dry run.
    await waitFor(
      async () => exporter.stderr().includes('msg="remediation decision"'),
      20_000,
      'remediation decision',
    );
    expect(exporter.stderr()).toMatch(
      /component=remediation msg="remediation decision" decision=dry_run alertname=InferenceQPSDrop rule=failover-recommender/,
    );
    const metrics = (await scrape(exporter.port)).text;
    expect(
      sum(metrics, 'inference_remediation_decisions_total', {
        rule: 'failover-recommender',
        decision: 'dry_run',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sum(metrics, 'inference_remediation_decisions_total', {
        decision: 'run',
      }),
    ).toBe(0);
    expect(existsSync(join(dir, 'active-endpoint'))).toBe(false);

    // With an alert firing and decided on, the panels that wait for one
    // have data too.
    const alertPanels = [...new Set(panelQueries.map((q) => q.expr))].filter(
      waitsForAlert,
    );
    expect(alertPanels.length).toBe(3);
    expect(await emptyQueries(alertPanels, 10_000)).toEqual([]);
  }, 150_000);
});
