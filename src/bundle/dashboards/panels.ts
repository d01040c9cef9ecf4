/**
 * Shared pieces of the Grafana dashboards: the data source reference,
 * template variables and panel builders that always set units, legends
 * and a data source on every query.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { serving } from '../../metrics/definitions.js';
import type { BundleConfig } from '../config.js';
import { series } from '../promql.js';

/** Every panel and query reads the data source chosen in `$datasource`. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Matchers narrowing model-level series to the selected variables. */
export const MODEL_FILTER =
  'model=~"$model",version=~"$version",scene=~"$scene"';

/** Matcher narrowing host series to the selected exporter instances. */
export const INSTANCE_FILTER = 'instance=~"$instance"';

export interface Query {
  expr: string;
  legend: string;
  /** Instant table queries, e.g. for firing alerts. */
  table?: boolean;
}

export interface Size {
  w: number;
  h: number;
}

function targets(queries: Query[]): prometheus.DataqueryBuilder[] {
  return queries.map((q, i) => {
    const target = new prometheus.DataqueryBuilder()
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE)
      .expr(q.expr)
      .legendFormat(q.legend);
    return q.table
      ? target.instant().format(prometheus.PromQueryFormat.Table)
      : target.range();
  });
}

/** A time series panel with a table legend showing mean and last values. */
export function timeseriesPanel(
  title: string,
  unit: string,
  queries: Query[],
  size: Size,
): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(size.w)
    .height(size.h)
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .calcs(['mean', 'lastNotNull']),
    )
    .targets(targets(queries));
}

/** A single big number, reduced to the last value. */
export function statPanel(
  title: string,
  unit: string,
  query: Query,
  size: Size,
): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(size.w)
    .height(size.h)
    .graphMode(common.BigValueGraphMode.Area)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
    .targets(targets([query]));
}

/** A table of an instant query, one row per series. */
export function tablePanel(
  title: string,
  query: Query,
  size: Size,
): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .span(size.w)
    .height(size.h)
    .targets(targets([{ ...query, table: true }]));
}

/** The `$datasource` variable, limited to Prometheus data sources. */
export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus');
}

/** A label-values variable over exporter request series. */
export function labelVariable(
  config: BundleConfig,
  label: string,
  narrowedBy: string,
  options: { multi: boolean },
): dashboard.QueryVariableBuilder {
  const over = series(serving.requests, config.exporterSelector, narrowedBy);
  const query = `label_values(${over}, ${label})`;
  return queryVariable(label, query, options.multi);
}

/** The `$instance` variable over exporter scrape targets. */
export function instanceVariable(
  config: BundleConfig,
): dashboard.QueryVariableBuilder {
  const query = `label_values(${series('up', config.exporterSelector)}, instance)`;
  return queryVariable('instance', query, true);
}

function queryVariable(
  name: string,
  query: string,
  multi: boolean,
): dashboard.QueryVariableBuilder {
  const variable = new dashboard.QueryVariableBuilder(name)
    .label(name)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(multi);
  return multi ? variable.includeAll(true).allValue('.*') : variable;
}

type BoardPanel = NonNullable<dashboard.Dashboard['panels']>[number];

/**
 * Every panel in reading order, those inside collapsed rows right after
 * their row; Grafana keeps a collapsed row's panels in the row itself.
 */
export function boardPanels(board: dashboard.Dashboard): BoardPanel[] {
  return (board.panels ?? []).flatMap((panel) => {
    const nested = 'panels' in panel ? (panel.panels ?? []) : [];
    return [panel, ...nested];
  });
}

/** Built dashboards get panel ids in reading order, so they stay stable. */
export function numberPanels(board: dashboard.Dashboard): dashboard.Dashboard {
  let id = 1;
  for (const panel of boardPanels(board)) {
    panel.id = id++;
  }
  return board;
}

/**
 * A dashboard with the settings all of ours share: tags, refresh, a six
 * hour range, shared crosshair, read-only, and the data source variable.
 */
export function baseDashboard(
  config: BundleConfig,
  title: string,
  uid: string,
  description: string,
): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(config.dashboardTags)
    .refresh(config.dashboardRefresh)
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .readonly()
    .withVariable(datasourceVariable());
}

/**
 * The variables that pick what a model dashboard shows: model (one or
 * many), then version and scene of the chosen models, then instance.
 */
export function withModelVariables(
  builder: dashboard.DashboardBuilder,
  config: BundleConfig,
  multiModel: boolean,
): dashboard.DashboardBuilder {
  const ofModel = 'model=~"$model"';
  return builder
    .withVariable(labelVariable(config, 'model', '', { multi: multiModel }))
    .withVariable(labelVariable(config, 'version', ofModel, { multi: true }))
    .withVariable(labelVariable(config, 'scene', ofModel, { multi: true }))
    .withVariable(instanceVariable(config));
}
