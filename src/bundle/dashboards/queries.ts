/**
 * Every panel query of every dashboard, with template variables replaced
 * by values Prometheus accepts, so tests can parse or run them.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DEFAULT_BUNDLE_CONFIG, type BundleConfig } from '../config.js';
import { healthDashboard } from './health.js';
import { modelDashboard } from './model.js';
import { overviewDashboard } from './overview.js';
import { boardPanels } from './panels.js';

export interface PanelQuery {
  /** Dashboard uid. */
  dashboard: string;
  /** Panel title. */
  panel: string;
  expr: string;
}

/** Every dashboard, in file order. */
export function allDashboards(config: BundleConfig): dashboard.Dashboard[] {
  return [
    overviewDashboard(config),
    modelDashboard(config),
    healthDashboard(config),
  ];
}

/**
 * Replaces the variables our dashboards use: label variables, always used
 * with `=~`, match anything; Grafana's interval variables become 5m.
 */
export function resolveVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{?(model|version|scene|instance)\}?/g, '.*');
}

/** Each panel's queries, resolved, for the default or a given config. */
export function allPanelQueries(
  config: BundleConfig = DEFAULT_BUNDLE_CONFIG,
): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const board of allDashboards(config)) {
    for (const panel of boardPanels(board)) {
      const targets = 'targets' in panel ? (panel.targets ?? []) : [];
      for (const target of targets) {
        const expr = (target as { expr?: string }).expr ?? '';
        queries.push({
          dashboard: board.uid ?? '',
          panel: panel.title ?? '',
          expr: resolveVariables(expr),
        });
      }
    }
  }
  return queries;
}
