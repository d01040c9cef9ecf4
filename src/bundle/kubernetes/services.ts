/**
 * Services in front of the exporters and the ServiceMonitor that has the
 * Prometheus Operator scrape every one of their pods under the job the
 * rules select.
 */
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Service } from 'kubernetes-models/v1/Service';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import type { BundleConfig } from '../config.js';
import {
  EXPORTER_APP,
  EXPORTER_PORT,
  METRICS_PORT_NAME,
  MODEL_SERVER_PORT,
  NAMES,
  appLabels,
  metadata,
} from './common.js';
import { ingestPodLabels, modelServerPodLabels } from './workloads.js';

const METRICS_PORT: IServicePort = {
  name: METRICS_PORT_NAME,
  port: EXPORTER_PORT,
  targetPort: METRICS_PORT_NAME,
  protocol: 'TCP',
};

/** The model server's own traffic port, as any client reaches it. */
export function modelServerService(config: BundleConfig): Service {
  const labels = modelServerPodLabels();
  return new Service({
    metadata: metadata(config, NAMES.modelServer, labels),
    spec: {
      selector: labels,
      ports: [
        {
          name: 'http',
          port: MODEL_SERVER_PORT,
          targetPort: 'http',
          protocol: 'TCP',
        },
      ],
    },
  });
}

/** The sidecars' metrics port, on the model server's pods. */
export function sidecarService(config: BundleConfig): Service {
  return new Service({
    metadata: metadata(
      config,
      NAMES.sidecarService,
      appLabels(EXPORTER_APP, 'sidecar'),
    ),
    spec: { selector: modelServerPodLabels(), ports: [METRICS_PORT] },
  });
}

/**
 * The push Deployment's port: /ingest for model servers, /metrics for
 * Prometheus. Pushes are not balanced over replicas; see the Deployment.
 */
export function ingestService(config: BundleConfig): Service {
  return new Service({
    metadata: metadata(config, NAMES.ingest, appLabels(EXPORTER_APP, 'ingest')),
    spec: { selector: ingestPodLabels(), ports: [METRICS_PORT] },
  });
}

/**
 * Scrapes every pod behind both exporter Services. The Operator would name
 * the job after each Service; the relabelling gives both the one job the
 * recording rules and alerts select, so sidecars and push instances add up.
 * Credentials come from a Secret matching the web config's users.
 */
export function exporterServiceMonitor(config: BundleConfig): ServiceMonitor {
  return new ServiceMonitor({
    metadata: metadata(
      config,
      NAMES.serviceMonitor,
      appLabels(EXPORTER_APP, 'monitoring'),
    ),
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': EXPORTER_APP } },
      endpoints: [
        {
          port: METRICS_PORT_NAME,
          path: '/metrics',
          interval: `${config.scrapeIntervalSeconds}s`,
          basicAuth: {
            username: { name: NAMES.scrapeAuth, key: 'username' },
            password: { name: NAMES.scrapeAuth, key: 'password' },
          },
          relabelings: [
            {
              action: 'replace',
              targetLabel: 'job',
              replacement: config.exporterJob,
            },
          ],
        },
      ],
    },
  });
}
