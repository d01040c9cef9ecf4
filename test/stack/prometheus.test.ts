/**
 * The generated bundle against real components: the exporter on replayed
 * shop data, a real Prometheus scraping it with the generated config and
 * rules (addresses rewritten to loopback), and a real Alertmanager. Every
 * recording rule and dashboard query must return data; then the traffic
 * stops, and the QPS-drop alert must fire and reach its webhooks.
 */
import express from 'express';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBundleConfig } from '../../src/bundle/config.js';
import { allPanelQueries } from '../../src/bundle/dashboards/queries.js';
import { generateBundle } from '../../src/bundle/files.js';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';
import { scrape, startCli, sum, waitFor, type RunningCli } from '../e2e/helpers.js';
import { freePort, query, startService, type Service } from './services.js';

interface Delivery {
  path: string;
  body: { status: string; alerts: Array<{ status: string; labels: Record<string, string> }> };
}

let dir: string;
let exporter: RunningCli;
let prometheus: Service;
let alertmanager: Service;
let webhook: Server;
const deliveries: Delivery[] = [];
const traffic = new AbortController();
let replay: Promise<unknown>;
let panelQueries: ReturnType<typeof allPanelQueries>;

/** Shortens every Alertmanager wait so a test sees a notification in seconds. */
function hurryAlertmanager(text: string): string {
  const doc = parse(text);
  const visit = (route: Record<string, unknown>) => {
    if ('group_wait' in route || route === doc.route) route.group_wait = '1s';
    if ('group_interval' in route || route === doc.route) route.group_interval = '1s';
    for (const child of (route.routes as Array<Record<string, unknown>>) ?? []) visit(child);
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

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ie-stack-'));
  const logFile = join(dir, 'model-server.jsonl');
  writeFileSync(logFile, '');
  replay = runReplay({
    dataPath: defaultDataPath(),
    output: logFile,
    clock: 'now',
    // A day of data a second: a 10 s window then spans ten days, so the
    // shop's daily cycle does not look like a drop.
    speedup: 86_400,
    loop: true,
    progress: false,
    signal: traffic.signal,
  });
  const exporterConfig = join(dir, 'exporter.yml');
  writeFileSync(exporterConfig, [
    'remediation:',
    '  enabled: true',
    '  dry_run: true',
    '  rules:',
    '    - name: failover-recommender',
    '      match: { alertname: InferenceQPSDrop, action: failover }',
    '      action: { type: failover, standby: recommender-standby, file: ' + join(dir, 'active-endpoint') + ' }',
    '',
  ].join('\n'));
  exporter = await startCli([`--source.path=${logFile}`, '--tail.from-beginning', `--config.file=${exporterConfig}`]);

  const [promPort, amPort, hookPort, nobody] = [await freePort(), await freePort(), await freePort(), await freePort()];
  webhook = await startWebhook(hookPort);
  const config = validateBundleConfig({
    exporterTarget: `127.0.0.1:${exporter.port}`,
    prometheusTarget: `127.0.0.1:${promPort}`,
    alertmanagerTarget: `127.0.0.1:${amPort}`,
    modelServerTarget: `127.0.0.1:${nobody}`,
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
  panelQueries = allPanelQueries(config);
  for (const [path, text] of generateBundle(config)) {
    const file = join(dir, 'bundle', path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, path === 'alertmanager/alertmanager.yml' ? hurryAlertmanager(text) : text);
  }

  alertmanager = await startService('alertmanager', 'prometheus-alertmanager', [
    `--config.file=${join(dir, 'bundle/alertmanager/alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ], amPort, '/-/ready');
  prometheus = await startService('prometheus', 'prometheus', [
    `--config.file=${join(dir, 'bundle/prometheus/prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prom-data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ], promPort, '/-/ready');
}, 90_000);

afterAll(async () => {
  traffic.abort();
  await replay.catch(() => undefined);
  await prometheus?.stop();
  await alertmanager?.stop();
  await exporter?.stop();
  await new Promise((resolve) => webhook?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** Queries that return nothing, polled until none is left or time runs out. */
async function emptyQueries(exprs: string[], timeoutMs: number): Promise<string[]> {
  let empty = exprs;
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const results = await Promise.all(empty.map((expr) => query(prometheus.url, expr)));
    empty = empty.filter((_, i) => results[i]!.length === 0);
    if (empty.length === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return empty;
}

describe('the bundle on a real Prometheus and Alertmanager', () => {
  it('scrapes the exporter, and every recording rule returns data', async () => {
    await waitFor(async () => (await query(prometheus.url, 'up{job="inference-exporter"} == 1')).length === 1, 30_000, 'exporter scraped');
    const res = await fetch(`${prometheus.url}/api/v1/rules?type=record`);
    const groups = ((await res.json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> } }).data.groups;
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(20);
    expect(await emptyQueries(rules.map((r) => r.name), 60_000)).toEqual([]);
    expect(rules.filter((r) => r.health === 'err')).toEqual([]);
  }, 90_000);

  it('returns data for every dashboard panel query but the firing-alerts ones', async () => {
    const exprs = [...new Set(panelQueries.map((q) => q.expr))].filter((e) => !e.includes('ALERTS'));
    expect(exprs.length).toBeGreaterThan(15);
    expect(await emptyQueries(exprs, 60_000)).toEqual([]);
  }, 90_000);

  it('fires InferenceQPSDrop when traffic stops; Alertmanager pages and the remediation receiver decides a dry-run failover', async () => {
    // The drop compares with 20 s and 25 s earlier: let traffic run past both.
    await waitFor(async () => {
      const r = await query(prometheus.url, 'sum(rate(inference_requests_total[10s] offset 25s)) > 0.5');
      return r.length === 1;
    }, 60_000, 'steady traffic 25 s ago');
    expect(deliveries.filter((d) => d.path === '/pager')).toEqual([]);
    traffic.abort();
    await replay;

    await waitFor(async () => deliveries.some((d) => d.path === '/pager'), 60_000, 'pager webhook called');
    const page = deliveries.find((d) => d.path === '/pager')!;
    const alert = page.body.alerts.find((a) => a.labels.alertname === 'InferenceQPSDrop');
    expect(alert?.status).toBe('firing');
    expect(alert?.labels.action).toBe('failover');
    expect(alert?.labels.severity).toBe('critical');

    // The exporter's own receiver got the same alert and decided, in dry run.
    await waitFor(async () => exporter.stderr().includes('msg="remediation decision"'), 20_000, 'remediation decision');
    expect(exporter.stderr()).toMatch(/component=remediation msg="remediation decision" decision=dry_run alertname=InferenceQPSDrop rule=failover-recommender/);
    const metrics = (await scrape(exporter.port)).text;
    expect(sum(metrics, 'inference_remediation_decisions_total', { rule: 'failover-recommender', decision: 'dry_run' })).toBeGreaterThanOrEqual(1);
    expect(sum(metrics, 'inference_remediation_decisions_total', { decision: 'run' })).toBe(0);
    expect(existsSync(join(dir, 'active-endpoint'))).toBe(false);

    // With an alert firing, the dashboards' alert panels have data too.
    const alertPanels = [...new Set(panelQueries.map((q) => q.expr))].filter((e) => e.includes('ALERTS'));
    expect(alertPanels.length).toBeGreaterThan(0);
    expect(await emptyQueries(alertPanels, 10_000)).toEqual([]);
  }, 150_000);
});
