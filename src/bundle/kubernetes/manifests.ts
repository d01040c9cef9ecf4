/**
 * deploy/kubernetes/: a kustomize base with the exporter as a sidecar and
 * as a push Deployment, their Services, the ServiceMonitor, the rules as
 * PrometheusRules, the dashboards as ConfigMaps and the auth Secrets.
 */
import type { BundleConfig } from '../config.js';
import { dashboardConfigMap } from './dashboards.js';
import { prometheusRules } from './rules.js';
import { scrapeAuthSecret, webConfigSecret } from './secrets.js';
import {
  exporterServiceMonitor,
  ingestService,
  modelServerService,
  sidecarService,
} from './services.js';
import { ingestDeployment, sidecarDeployment } from './workloads.js';

/** Where the base lives, relative to the bundle root. */
export const KUBERNETES_DIR = 'deploy/kubernetes';

/** A typed Kubernetes object, as the model packages build them. */
export interface KubernetesObject {
  validate(): void;
  toJSON(): unknown;
}

/** One resource file of the base. */
export interface KubernetesManifest {
  /** Name inside the base directory. */
  file: string;
  resource: KubernetesObject;
  /** Comment lines written above the object, for what a reader must change. */
  note?: string[];
}

const MODEL_SERVER_NOTE = [
  'Example: the model-server container is a placeholder (see modelServerImage',
  'in src/bundle/config.ts). Keep the log volume, the sidecar and its mounts,',
  'and make your server append JSON Lines (docs/log-format.md) to',
  '/var/log/model-server/*.jsonl; rotate them there as you like.',
];

const SECRET_NOTE = [
  'Template: replace the placeholder hash and password together before use,',
  'or create these Secrets out of band and drop this file from the base.',
];

/**
 * Every resource file in the order the kustomization lists them.
 * `dashboards` maps a dashboard file name to its generated JSON text.
 */
export function kubernetesManifests(
  config: BundleConfig,
  dashboards: ReadonlyMap<string, string>,
): KubernetesManifest[] {
  const rules = prometheusRules(config);
  return [
    {
      file: 'secret-web-config.yaml',
      resource: webConfigSecret(config),
      note: SECRET_NOTE,
    },
    {
      file: 'secret-scrape-auth.yaml',
      resource: scrapeAuthSecret(config),
      note: SECRET_NOTE,
    },
    {
      file: 'deployment-model-server.yaml',
      resource: sidecarDeployment(config),
      note: MODEL_SERVER_NOTE,
    },
    { file: 'service-model-server.yaml', resource: modelServerService(config) },
    { file: 'service-sidecar.yaml', resource: sidecarService(config) },
    { file: 'deployment-ingest.yaml', resource: ingestDeployment(config) },
    { file: 'service-ingest.yaml', resource: ingestService(config) },
    { file: 'servicemonitor.yaml', resource: exporterServiceMonitor(config) },
    { file: 'prometheusrule-recording.yaml', resource: rules.recording },
    { file: 'prometheusrule-alerts.yaml', resource: rules.alerts },
    ...[...dashboards].map(([name, json]) => ({
      file: `configmap-${name.replace(/\.json$/, '')}.yaml`,
      resource: dashboardConfigMap(config, name, json),
    })),
  ];
}

/** kustomization.yaml listing every resource file. */
export function kustomization(
  config: BundleConfig,
  manifests: readonly KubernetesManifest[],
): object {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: config.kubernetesNamespace,
    resources: manifests.map((m) => m.file),
  };
}
