/**
 * Names, labels, ports and paths every Kubernetes manifest shares, so a
 * Service, its ServiceMonitor and the pods behind it cannot disagree.
 */
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { BundleConfig } from '../config.js';

/** The exporter's default listen port; the CLI test pins them together. */
export const EXPORTER_PORT = 10464;

/** Name of the exporter's container port and of every Service port on it. */
export const METRICS_PORT_NAME = 'metrics';

/** The model server's port in the sidecar example. */
export const MODEL_SERVER_PORT = 8080;

/** Where the model server writes its JSON Lines and the sidecar reads them. */
export const MODEL_SERVER_LOG_DIR = '/var/log/model-server';

/** Where the exporter keeps its positions file. */
export const EXPORTER_STATE_DIR = '/var/lib/inference-exporter';

/** Where the web config Secret is mounted. */
export const WEB_CONFIG_DIR = '/etc/inference-exporter';

/** The web config file's key in its Secret and its name when mounted. */
export const WEB_CONFIG_FILE = 'web-config.yml';

/** Kubernetes object names, in one place. */
export const NAMES = {
  modelServer: 'model-server',
  sidecarService: 'inference-exporter-sidecar',
  ingest: 'inference-exporter-ingest',
  serviceMonitor: 'inference-exporter',
  webConfig: 'inference-exporter-web-config',
  scrapeAuth: 'inference-exporter-scrape-auth',
} as const;

/** The `app.kubernetes.io/name` every exporter Service carries. */
export const EXPORTER_APP = 'inference-exporter';

/** Recommended labels naming the application and its part. */
export function appLabels(
  name: string,
  component: string,
): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'inference-exporter',
  };
}

/** Object metadata, as every model types it. */
export type ObjectMeta = NonNullable<IConfigMap['metadata']>;

/** Metadata with the configured namespace and the given labels. */
export function metadata(
  config: BundleConfig,
  name: string,
  labels: Record<string, string>,
): ObjectMeta {
  return { name, namespace: config.kubernetesNamespace, labels };
}
