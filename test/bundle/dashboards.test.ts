import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertNames, alertSpecs, runbookAnchor } from '../../src/bundle/alerts.js';
import { DEFAULT_BUNDLE_CONFIG } from '../../src/bundle/config.js';
import {
  allPanelQueries,
  resolveVariables,
} from '../../src/bundle/dashboards/queries.js';
import { generateBundle } from '../../src/bundle/files.js';

const files = generateBundle(DEFAULT_BUNDLE_CONFIG);
const DASHBOARDS = [
  'grafana/dashboards/inference-overview.json',
  'grafana/dashboards/inference-model.json',
];

type Json = Record<string, unknown>;

/**
 * The parts of the dashboard JSON model Grafana needs to load and render
 * a provisioned dashboard; returns one message per problem.
 */
function dashboardProblems(board: Json): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => ok || problems.push(what);
  need(typeof board.uid === 'string' && /^[a-zA-Z0-9_-]{1,40}$/.test(board.uid), 'uid');
  need(typeof board.title === 'string' && board.title.length > 0, 'title');
  need(Number.isInteger(board.schemaVersion), 'schemaVersion');
  const list = (board.templating as { list?: Json[] } | undefined)?.list;
  need(Array.isArray(list), 'templating.list');
  const variables = new Set((list ?? []).map((v) => String(v.name)));
  for (const v of list ?? []) need(typeof v.name === 'string' && typeof v.type === 'string', `variable ${String(v.name)}`);
  const panels = (board.panels ?? []) as Json[];
  need(panels.length > 0, 'panels');
  const ids = new Set<unknown>();
  for (const panel of panels) {
    const at = `panel ${String(panel.title)}`;
    need(typeof panel.type === 'string', `${at}: type`);
    need(Number.isInteger(panel.id) && !ids.has(panel.id), `${at}: unique id`);
    ids.add(panel.id);
    const grid = panel.gridPos as Record<string, number> | undefined;
    const fits = grid !== undefined && ['x', 'y', 'w', 'h'].every((k) => Number.isInteger(grid[k])) && grid.x! + grid.w! <= 24;
    need(fits, `${at}: gridPos`);
    if (panel.type === 'row') continue;
    const targets = (panel.targets ?? []) as Json[];
    need(targets.length > 0, `${at}: targets`);
    for (const target of targets) {
      need(typeof target.refId === 'string', `${at}: refId`);
      need(typeof target.expr === 'string' && target.expr.length > 0, `${at}: expr`);
      const ds = target.datasource as Json | undefined;
      need(ds?.type === 'prometheus' && typeof ds.uid === 'string', `${at}: datasource`);
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
    const panel = (board.panels as Json[]).find((p) => p.type === 'timeseries')!;
    delete panel.gridPos;
    delete ((panel.targets as Json[])[0]!).datasource;
    expect(dashboardProblems(board)).toEqual([
      `panel ${String(panel.title)}: gridPos`,
      `panel ${String(panel.title)}: datasource`,
    ]);
  });

  it('keeps fixed uids and the template variables', () => {
    const boards = DASHBOARDS.map((p) => JSON.parse(files.get(p)!) as Json);
    expect(boards.map((b) => b.uid)).toEqual(['inference-overview', 'inference-model']);
    for (const board of boards) {
      const list = (board.templating as { list: Json[] }).list;
      expect(list.map((v) => v.name)).toEqual(['datasource', 'model', 'version', 'scene', 'instance']);
    }
  });

  it('provisions the data source uid the panels can select', () => {
    const ds = parse(files.get('grafana/provisioning/datasources/prometheus.yaml')!);
    expect(ds.datasources[0]).toMatchObject({ uid: 'inference-prometheus', url: 'http://prometheus:9090', type: 'prometheus' });
    const provider = parse(files.get('grafana/provisioning/dashboards/inference.yaml')!);
    expect(provider.providers[0].options.path).toBe('/var/lib/grafana/dashboards');
  });

  it('lists every panel query with variables resolved', () => {
    const queries = allPanelQueries();
    const panelTitles = (path: string) =>
      (JSON.parse(files.get(path)!).panels as Json[]).filter((p) => p.type !== 'row').map((p) => p.title);
    const titles = new Set(queries.map((q) => `${q.dashboard}/${q.panel}`));
    expect(titles.size).toBe(panelTitles(DASHBOARDS[0]!).length + panelTitles(DASHBOARDS[1]!).length);
    for (const q of queries) expect(q.expr).not.toContain('$');
    expect(resolveVariables('rate(x{model=~"$model",instance=~"${instance}"}[$__rate_interval])')).toBe(
      'rate(x{model=~".*",instance=~".*"}[5m])',
    );
  });

  it('shows QPS, latency, quality, host and alert panels on the overview', () => {
    const overview = allPanelQueries().filter((q) => q.dashboard === 'inference-overview');
    const exprs = overview.map((q) => q.expr).join('\n');
    for (const part of ['inference_requests:rate5m', 'p50_rate5m', 'p95_rate5m', 'p99_rate5m', 'error_ratio', 'precision', 'recall', 'f1', 'ndcg', 'inference_host_cpu', 'inference_host_memory', 'network_receive', 'ALERTS']) {
      expect(exprs).toContain(part);
    }
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
    const urls = rules.groups.flatMap((g: { rules: Json[] }) => g.rules.map((r) => (r.annotations as Json).runbook_url));
    expect(urls).toContain('docs/runbooks.md#inferenceqpsdrop');
  });

  it('matches the committed runbook file', () => {
    const committed = readFileSync(join(import.meta.dirname, '../../docs/runbooks.md'), 'utf8');
    expect(committed).toBe(doc);
  });
});
