/**
 * Dashboards as ConfigMaps for the Grafana sidecar, which loads every
 * ConfigMap labelled `grafana_dashboard: "1"`. Each holds the generated
 * dashboard file's exact text.
 */
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { BundleConfig } from '../config.js';
import { EXPORTER_APP, appLabels, metadata } from './common.js';

/** `inference-overview.json` is kept in `inference-overview-dashboard`. */
export function dashboardConfigMapName(fileName: string): string {
  return `${fileName.replace(/\.json$/, '')}-dashboard`;
}

/** One ConfigMap per dashboard file, keyed by the file's name. */
export function dashboardConfigMap(
  config: BundleConfig,
  fileName: string,
  json: string,
): ConfigMap {
  const meta = metadata(config, dashboardConfigMapName(fileName), {
    ...appLabels(EXPORTER_APP, 'dashboards'),
    grafana_dashboard: '1',
  });
  // The folder annotation the kube-prometheus-stack sidecar reads.
  meta.annotations = { grafana_folder: 'Inference' };
  return new ConfigMap({ metadata: meta, data: { [fileName]: json } });
}
