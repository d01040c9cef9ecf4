import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  alertNames,
  alertSpecs,
  runbookAnchor,
} from '../../src/bundle/alerts.js';
import {
  DEFAULT_BUNDLE_CONFIG,
  validateBundleConfig,
} from '../../src/bundle/config.js';
import { NATIVE_ROW_TITLE } from '../../src/bundle/dashboards/native.js';
import {
  allPanelQueries,
  resolveVariables,
} from '../../src/bundle/dashboards/queries.js';
import { generateBundle } from '../../src/bundle/files.js';

const files = generateBundle(DEFAULT_BUNDLE_CONFIG);
const DASHBOARDS = [
  'grafana/dashboards/inference-overview.json',
  'grafana/dashboards/inference-model.json',
  'grafana/dashboards/inference-exporter-health.json',
];

type Json = Record<string, unknown>;

/** Top-level panels, each collapsed row's own panels right after it. */
function flatPanels(board: Json): Json[] {
  return ((board.panels ?? []) as Json[]).flatMap((p) => [
    p,
    ...((p.panels ?? []) as Json[]),
  ]);
}

/**
 * The parts of the dashboard JSON model Grafana needs to load and render
 * a provisioned dashboard; returns one message per problem.
 */
function dashboardProblems(board: Json): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => ok || problems.push(what);
  need(
    typeof board.uid === 'string' && /^[a-zA-Z0-9_-]{1,40}$/.test(board.uid),
    'uid',
  );
  need(typeof board.title === 'string' && board.title.length > 0, 'title');
  need(Number.isInteger(board.schemaVersion), 'schemaVersion');
  const list = (board.templating as { list?: Json[] } | undefined)?.list;
  need(Array.isArray(list), 'templating.list');
  const variables = new Set((list ?? []).map((v) => String(v.name)));
  for (const v of list ?? [])
    need(
      typeof v.name === 'string' && typeof v.type === 'string',
      `variable ${String(v.name)}`,
    );
  const panels = flatPanels(board);
  need(panels.length > 0, 'panels');
  for (const row of (board.panels ?? []) as Json[]) {
    // Grafana drops the panels of an open row; only collapsed rows hold any.
    const nested = (row.panels ?? []) as Json[];
    need(
      nested.length === 0 || row.collapsed === true,
      `row ${String(row.title)}: collapsed`,
    );
  }
  const ids = new Set<unknown>();
  for (const panel of panels) {
    const at = `panel ${String(panel.title)}`;
    need(typeof panel.type === 'string', `${at}: type`);
    need(Number.isInteger(panel.id) && !ids.has(panel.id), `${at}: unique id`);
    ids.add(panel.id);
    const grid = panel.gridPos as Record<string, number> | undefined;
    const fits =
      grid !== undefined &&
      ['x', 'y', 'w', 'h'].every((k) => Number.isInteger(grid[k])) &&
      grid.x! + grid.w! <= 24;
    need(fits, `${at}: gridPos`);
    if (panel.type === 'row') continue;
    const targets = (panel.targets ?? []) as Json[];
    need(targets.length > 0, `${at}: targets`);
    for (const target of targets) {
      need(typeof target.refId === 'string', `${at}: refId`);
      need(
        typeof target.expr === 'string' && target.expr.length > 0,
        `${at}: expr`,
      );
      const ds = target.datasource as Json | undefined;
      need(
        ds?.type === 'prometheus' && typeof ds.uid === 'string',
        `${at}: datasource`,
      );
      const used = String(target.expr).match(/\$\{?([a-z]+)/g) ?? [];
      for (const name of used.map((u) => u.replace(/[${]/g, ''))) {
        need(variables.has(name), `${at}: unknown variable ${name}`);
      }
    }
  }
  return problems;
}

describe('dashboards', () => {
  it.each(DASHBOARDS)('%s has the structure Grafana requires', (path) => {
    const board = JSON.parse(files.get(path)!) as Json;
    expect(dashboardProblems(board)).toEqual([]);
  });

  it('reports a panel without data source or gridPos', () => {
    const board = JSON.parse(files.get(DASHBOARDS[0]!)!) as Json;
    const panel = (board.panels as Json[]).find(
      (p) => p.type === 'timeseries',
    )!;
    delete panel.gridPos;
    delete (panel.targets as Json[])[0]!.datasource;
    expect(dashboardProblems(board)).toEqual([
      `panel ${String(panel.title)}: gridPos`,
      `panel ${String(panel.title)}: datasource`,
    ]);
  });

  it('reports panels in an open row', () => {
    const board = JSON.parse(files.get(DASHBOARDS[0]!)!) as Json;
    const row = (board.panels as Json[]).find(
      (p) => p.title === NATIVE_ROW_TITLE,
    )!;
    row.collapsed = false;
    expect(dashboardProblems(board)).toEqual([
      `row ${NATIVE_ROW_TITLE}: collapsed`,
    ]);
  });

  it('keeps fixed uids and the template variables', () => {
    const boards = DASHBOARDS.map((p) => JSON.parse(files.get(p)!) as Json);
    expect(boards.map((b) => b.uid)).toEqual([
      'inference-overview',
      'inference-model',
      'inference-exporter-health',
    ]);
    const variables = boards.map((b) =>
      (b.templating as { list: Json[] }).list.map((v) => v.name),
    );
    expect(variables).toEqual([
      ['datasource', 'model', 'version', 'scene', 'instance'],
      ['datasource', 'model', 'version', 'scene', 'instance'],
      ['datasource', 'instance'],
    ]);
  });

  it('numbers every panel, nested ones too, uniquely in reading order', () => {
    for (const path of DASHBOARDS) {
      const ids = flatPanels(JSON.parse(files.get(path)!) as Json).map(
        (p) => p.id,
      );
      expect(ids).toEqual(ids.map((_, i) => i + 1));
    }
  });

  it('provisions the data source uid the panels can select', () => {
    const ds = parse(
      files.get('grafana/provisioning/datasources/prometheus.yaml')!,
    );
    expect(ds.datasources[0]).toMatchObject({
      uid: 'inference-prometheus',
      url: 'http://prometheus:9090',
      type: 'prometheus',
    });
    const provider = parse(
      files.get('grafana/provisioning/dashboards/inference.yaml')!,
    );
    expect(provider.providers[0].options.path).toBe(
      '/var/lib/grafana/dashboards',
    );
  });

  it('lists every panel query with variables resolved', () => {
    const queries = allPanelQueries();
    const panelTitles = (path: string) =>
      flatPanels(JSON.parse(files.get(path)!) as Json)
        .filter((p) => p.type !== 'row')
        .map((p) => p.title);
    const titles = new Set(queries.map((q) => `${q.dashboard}/${q.panel}`));
    expect(titles.size).toBe(
      DASHBOARDS.reduce((n, path) => n + panelTitles(path).length, 0),
    );
    for (const q of queries) expect(q.expr).not.toContain('$');
    expect(
      resolveVariables(
        'rate(x{model=~"$model",instance=~"${instance}"}[$__rate_interval])',
      ),
    ).toBe('rate(x{model=~".*",instance=~".*"}[5m])');
  });

  it('shows QPS, latency, quality, host and alert panels on the overview', () => {
    const overview = allPanelQueries().filter(
      (q) => q.dashboard === 'inference-overview',
    );
    const exprs = overview.map((q) => q.expr).join('\n');
    for (const part of [
      'inference_requests:rate5m',
      'p50_rate5m',
      'p95_rate5m',
      'p99_rate5m',
      'error_ratio',
      'precision',
      'recall',
      'f1',
      'ndcg',
      'inference_host_cpu',
      'inference_host_memory',
      'network_receive',
      'ALERTS',
    ]) {
      expect(exprs).toContain(part);
    }
  });
});

describe('the exporter health dashboard', () => {
  const health = allPanelQueries().filter(
    (q) => q.dashboard === 'inference-exporter-health',
  );
  const exprOf = (panel: string) =>
    health.filter((q) => q.panel === panel).map((q) => q.expr);

  it('shows probe, ingestion, join, GPU and remediation panels on exporter series', () => {
    expect([...new Set(health.map((q) => q.panel))]).toEqual([
      'Model server up (probe)',
      'Probe duration',
      'Probe failures by reason',
      'Health response fields',
      'Input lines per second by result and reason',
      'Malformed line ratio',
      'Bytes read per second',
      'Log rotations since start',
      'Tail and positions errors by operation',
      'Seconds since the last log line',
      'Feedback by attribution',
      'Lists waiting for feedback',
      'Lists evicted from the join by reason',
      'Events with folded label values by limit',
      'GPU utilisation',
      'GPU memory',
      'GPU power',
      'Remediation decisions by rule and decision',
    ]);
    for (const q of health)
      expect(q.expr, q.panel).toContain('job="inference-exporter"');
  });

  it('reads 0, not nothing, as the malformed ratio of an exporter without malformed lines', () => {
    expect(exprOf('Malformed line ratio')).toEqual([
      '(sum by (instance) (rate(inference_log_lines_total{job="inference-exporter",instance=~".*",result="malformed"}[5m])) or sum by (instance) (rate(inference_log_lines_total{job="inference-exporter",instance=~".*"}[5m])) * 0) / sum by (instance) (rate(inference_log_lines_total{job="inference-exporter",instance=~".*"}[5m]))',
    ]);
  });

  it('shows used and total memory per GPU', () => {
    expect(exprOf('GPU memory')).toEqual([
      'inference_host_gpu_memory_used_bytes{job="inference-exporter",instance=~".*"}',
      'inference_host_gpu_memory_total_bytes{job="inference-exporter",instance=~".*"}',
    ]);
  });
});

describe('the model server native metrics row', () => {
  const board = JSON.parse(files.get(DASHBOARDS[0]!)!) as Json;
  const row = (board.panels as Json[]).find(
    (p) => p.title === NATIVE_ROW_TITLE,
  )!;

  it('is the collapsed last row of the overview', () => {
    expect((board.panels as Json[]).at(-1)).toBe(row);
    expect(row.type).toBe('row');
    expect(row.collapsed).toBe(true);
    expect((row.panels as Json[]).map((p) => p.title)).toEqual([
      'Triton mean request and queue time',
      'Triton requests per second',
      'Triton pending requests',
      'TorchServe mean inference and queue latency',
      'TorchServe requests per second',
      'vLLM end-to-end latency p50 / p95 / p99',
      'vLLM requests running and waiting',
      'vLLM finished requests by reason',
    ]);
  });

  it('selects the model-server job and takes every name from the config', () => {
    const names = {
      tritonRequestSuccess: 'a_success',
      tritonRequestFailure: 'a_failure',
      tritonRequestDurationMicroseconds: 'a_duration_us',
      tritonQueueDurationMicroseconds: 'a_queue_us',
      tritonPendingRequests: 'a_pending',
      torchserveRequests: 'b_requests_total',
      torchserveInferenceLatencyMicroseconds: 'b_latency_us',
      torchserveQueueLatencyMicroseconds: 'b_queue_us',
      vllmE2eRequestLatencySeconds: 'c:latency_seconds',
      vllmRequestsRunning: 'c:running',
      vllmRequestsWaiting: 'c:waiting',
      vllmRequestSuccess: 'c:success_total',
    };
    const custom = validateBundleConfig({
      modelServerJob: 'triton',
      modelServerMetrics: names,
    });
    const titles = new Set((row.panels as Json[]).map((p) => p.title));
    const native = allPanelQueries(custom).filter((q) => titles.has(q.panel));
    // Triton 5 queries, TorchServe 3, vLLM 3 quantiles + 2 gauges + 1 rate.
    expect(native).toHaveLength(14);
    const used = new Set<string>();
    for (const q of native) {
      const metrics = [...q.expr.matchAll(/([a-z_:]+)\{job="([^"]*)"\}/g)];
      expect(metrics.length, q.expr).toBeGreaterThan(0);
      for (const [, name, job] of metrics) {
        expect(job).toBe('triton');
        used.add(name!);
      }
    }
    expect([...used].sort()).toEqual(
      [
        ...Object.values(names).slice(0, 8),
        'c:latency_seconds_bucket',
        'c:running',
        'c:waiting',
        'c:success_total',
      ].sort(),
    );
  });

  it('computes mean seconds from microsecond sums and request counts', () => {
    const triton = allPanelQueries().find(
      (q) => q.panel === 'Triton mean request and queue time',
    )!;
    expect(triton.expr).toBe(
      'sum by (model, version) (rate(nv_inference_request_duration_us{job="model-server"}[5m])) / sum by (model, version) (rate(nv_inference_request_success{job="model-server"}[5m])) / 1e6',
    );
  });
});

describe('runbooks', () => {
  const doc = files.get('docs/runbooks.md')!;

  it('has one section per alert, at the anchor of its runbook_url', () => {
    const headings = [...doc.matchAll(/^## (\S+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(alertNames(DEFAULT_BUNDLE_CONFIG));
    for (const spec of alertSpecs(DEFAULT_BUNDLE_CONFIG)) {
      expect(runbookAnchor(spec.alert)).toBe(spec.alert.toLowerCase());
    }
    const rules = parse(files.get('prometheus/rules/inference-alerts.yml')!);
    const urls = rules.groups.flatMap((g: { rules: Json[] }) =>
      g.rules.map((r) => (r.annotations as Json).runbook_url),
    );
    expect(urls).toContain('docs/runbooks.md#inferenceqpsdrop');
  });

  it('matches the committed runbook file', () => {
    const committed = readFileSync(
      join(import.meta.dirname, '../../docs/runbooks.md'),
      'utf8',
    );
    expect(committed).toBe(doc);
  });
});
