/**
 * The two ways to run the exporter: as a sidecar that tails the model
 * server's log from a shared volume, and as a standalone Deployment that
 * model servers push JSON Lines to.
 */
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { BundleConfig } from '../config.js';
import {
  EXPORTER_APP,
  EXPORTER_STATE_DIR,
  MODEL_SERVER_LOG_DIR,
  MODEL_SERVER_PORT,
  NAMES,
  appLabels,
  metadata,
} from './common.js';
import {
  exporterContainer,
  podSecurityContext,
  webConfigVolume,
} from './exporter-container.js';

/**
 * Pod labels of the model server, which both of its Services select. The
 * model server is not part of the exporter, so it carries only its name.
 */
export function modelServerPodLabels(): Record<string, string> {
  return { 'app.kubernetes.io/name': NAMES.modelServer };
}

/** Pod labels of the push Deployment, which its Service selects. */
export function ingestPodLabels(): Record<string, string> {
  return appLabels(EXPORTER_APP, 'ingest');
}

/** A stand-in for the real model server: only its log volume matters. */
function modelServerContainer(config: BundleConfig): IContainer {
  return {
    name: 'model-server',
    image: config.modelServerImage,
    ports: [
      { name: 'http', containerPort: MODEL_SERVER_PORT, protocol: 'TCP' },
    ],
    volumeMounts: [
      { name: 'model-server-logs', mountPath: MODEL_SERVER_LOG_DIR },
    ],
    resources: {
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { memory: '2Gi' },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

/**
 * The sidecar example. Both volumes live as long as the pod: a log that
 * dies with the pod needs no offsets beyond it, and the positions file
 * carries counters over an exporter container restart.
 */
export function sidecarDeployment(config: BundleConfig): Deployment {
  const labels = modelServerPodLabels();
  const exporter = exporterContainer(
    config,
    [
      `--source.path=${MODEL_SERVER_LOG_DIR}/*.jsonl`,
      // Every file on the volume belongs to this pod, so none is old news.
      '--tail.from-beginning',
      `--positions.file=${EXPORTER_STATE_DIR}/positions.json`,
    ],
    [
      {
        name: 'model-server-logs',
        mountPath: MODEL_SERVER_LOG_DIR,
        readOnly: true,
      },
      { name: 'exporter-state', mountPath: EXPORTER_STATE_DIR },
    ],
  );
  return new Deployment({
    metadata: metadata(config, NAMES.modelServer, labels),
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: podSecurityContext(),
          containers: [modelServerContainer(config), exporter],
          volumes: [
            { name: 'model-server-logs', emptyDir: { sizeLimit: '1Gi' } },
            { name: 'exporter-state', emptyDir: { sizeLimit: '16Mi' } },
            webConfigVolume(),
          ],
        },
      },
    },
  });
}

/**
 * The push Deployment. One replica, because the attribution join is per
 * instance: spreading a user's lines over replicas loses their hits (see
 * docs/scale-out.md before raising it). Recreate keeps two pods from
 * splitting one user's traffic during a rollout.
 */
export function ingestDeployment(config: BundleConfig): Deployment {
  const labels = ingestPodLabels();
  const exporter = exporterContainer(
    config,
    [
      '--web.enable-ingest',
      // Its host is any node, not the model server's, so host metrics
      // would describe the wrong machine.
      '--no-collector.host',
    ],
    [],
  );
  return new Deployment({
    metadata: metadata(config, NAMES.ingest, labels),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          securityContext: podSecurityContext(),
          containers: [exporter],
          volumes: [webConfigVolume()],
        },
      },
    },
  });
}
