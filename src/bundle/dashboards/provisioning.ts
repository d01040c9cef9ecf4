/**
 * Grafana provisioning: the Prometheus data source with a fixed uid and
 * the file provider that loads the generated dashboards.
 */
import type { BundleConfig } from '../config.js';

/** grafana/provisioning/datasources/prometheus.yaml */
export function datasourceProvisioning(config: BundleConfig): object {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'Prometheus',
        type: 'prometheus',
        uid: config.datasourceUid,
        access: 'proxy',
        url: config.prometheusUrl,
        isDefault: true,
        editable: false,
        // Lets $__rate_interval cover at least four scrapes.
        jsonData: { timeInterval: `${config.scrapeIntervalSeconds}s` },
      },
    ],
  };
}

/** grafana/provisioning/dashboards/inference.yaml */
export function dashboardProvisioning(config: BundleConfig): object {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'inference',
        orgId: 1,
        folder: 'Inference',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 30,
        options: { path: config.dashboardsPath },
      },
    ],
  };
}
