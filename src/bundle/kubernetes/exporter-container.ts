/**
 * The exporter's container and pod settings, shared by the sidecar and the
 * push Deployment: the CLI's own flags, health and readiness probes,
 * resource bounds and a locked-down security context.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { BundleConfig } from '../config.js';
import {
  EXPORTER_PORT,
  METRICS_PORT_NAME,
  NAMES,
  WEB_CONFIG_DIR,
  WEB_CONFIG_FILE,
} from './common.js';

/** Flags both exporter containers start with. */
function commonArgs(): string[] {
  return [
    `--web.listen-address=:${EXPORTER_PORT}`,
    `--web.config.file=${WEB_CONFIG_DIR}/${WEB_CONFIG_FILE}`,
  ];
}

/**
 * The exporter container. `extraArgs` choose what it reads; `mounts` are
 * the volumes beyond the web config.
 */
export function exporterContainer(
  config: BundleConfig,
  extraArgs: string[],
  mounts: NonNullable<IContainer['volumeMounts']>,
): IContainer {
  return {
    name: 'inference-exporter',
    image: config.exporterImage,
    args: [...commonArgs(), ...extraArgs],
    ports: [
      {
        name: METRICS_PORT_NAME,
        containerPort: EXPORTER_PORT,
        protocol: 'TCP',
      },
    ],
    volumeMounts: [
      { name: 'web-config', mountPath: WEB_CONFIG_DIR, readOnly: true },
      ...mounts,
    ],
    // The exporter holds recent lists until their feedback window ends;
    // a busy shop's pending lists, not the scrape, set the memory it needs.
    resources: {
      requests: { cpu: '50m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    },
    livenessProbe: {
      httpGet: { path: '/-/healthy', port: METRICS_PORT_NAME },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    // Ready once sources are open and saved positions are loaded.
    readinessProbe: {
      httpGet: { path: '/-/ready', port: METRICS_PORT_NAME },
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

/** The web config Secret as a volume, readable by the exporter only. */
export function webConfigVolume(): IVolume {
  return {
    name: 'web-config',
    secret: { secretName: NAMES.webConfig, defaultMode: 0o440 },
  };
}

/**
 * Pod-level security: a fixed non-root user (the image's user may be a
 * name, which `runAsNonRoot` cannot check) and a group that owns the
 * mounted volumes.
 */
export function podSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: 65534,
    runAsGroup: 65534,
    fsGroup: 65534,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
