/**
 * deploy/kubernetes/: each generated file, read back from its YAML, must
 * pass the Kubernetes or Prometheus Operator schema, agree with the rule
 * files and dashboards beside it, and hang together (selectors, ports,
 * volumes, Secrets) the way a cluster would need.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import {
  Deployment,
  type IDeployment,
} from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  DEFAULT_BUNDLE_CONFIG,
  validateBundleConfig,
} from '../../src/bundle/config.js';
import { generateBundle } from '../../src/bundle/files.js';
import { EXPORTER_PORT } from '../../src/bundle/kubernetes/common.js';
import { KUBERNETES_DIR } from '../../src/bundle/kubernetes/manifests.js';
import {
  PLACEHOLDER_PASSWORD,
  SCRAPE_USER,
} from '../../src/bundle/kubernetes/secrets.js';
import { RULE_FILES } from '../../src/bundle/prometheus.js';
import { DEFAULT_PORT } from '../../src/cli.js';
import { loadWebConfig } from '../../src/server/webconfig.js';
import { CLI } from '../e2e/helpers.js';

type Doc = Record<string, any>;

const config = DEFAULT_BUNDLE_CONFIG;
const files = generateBundle(config);
const temps: string[] = [];

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Every resource file of the base, parsed, by its name in the base. */
function baseDocuments(bundle: Map<string, string>): Map<string, Doc> {
  const docs = new Map<string, Doc>();
  for (const [path, text] of bundle) {
    if (!path.startsWith(`${KUBERNETES_DIR}/`)) continue;
    const file = path.slice(KUBERNETES_DIR.length + 1);
    if (file !== 'kustomization.yaml') docs.set(file, parse(text) as Doc);
  }
  return docs;
}

const docs = baseDocuments(files);
const ofKind = (kind: string) =>
  [...docs.values()].filter((d) => d.kind === kind);

/** The typed model for a parsed object, which validates against its schema. */
function model(doc: Doc): { validate(): void } {
  switch (doc.kind) {
    case 'Deployment':
      return new Deployment(doc as IDeployment);
    case 'Service':
      return new Service(doc as IService);
    case 'ConfigMap':
      return new ConfigMap(doc as never);
    case 'Secret':
      return new Secret(doc as never);
    case 'ServiceMonitor':
      return new ServiceMonitor(doc as never);
    case 'PrometheusRule':
      return new PrometheusRule(doc as never);
    default:
      throw new Error(`no model for kind ${String(doc.kind)}`);
  }
}

function exporterContainers(): Doc[] {
  return ofKind('Deployment').flatMap((d) =>
    (d.spec.template.spec.containers as Doc[]).filter(
      (c) => c.name === 'inference-exporter',
    ),
  );
}

function matches(
  selector: Record<string, string>,
  labels: Record<string, string>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe('Kubernetes manifests', () => {
  it('validate against the Kubernetes and Prometheus Operator schemas', () => {
    const kinds = [...docs.values()].map((d) => d.kind as string).sort();
    expect(kinds).toEqual([
      'ConfigMap',
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'Deployment',
      'PrometheusRule',
      'PrometheusRule',
      'Secret',
      'Secret',
      'Service',
      'Service',
      'Service',
      'ServiceMonitor',
    ]);
    for (const [file, doc] of docs) {
      expect(() => model(doc).validate(), file).not.toThrow();
      expect(doc.metadata.namespace, file).toBe(config.kubernetesNamespace);
    }
  });

  it('fail validation when a field has the wrong type', () => {
    const deployment = structuredClone(docs.get('deployment-ingest.yaml')!);
    deployment.spec.replicas = 'one';
    expect(() => model(deployment).validate()).toThrow(/replicas/);
    const monitor = structuredClone(docs.get('servicemonitor.yaml')!);
    monitor.spec.endpoints[0].scheme = 'ftp';
    expect(() => model(monitor).validate()).toThrow(/scheme/);
  });

  it('list every resource file, and only those, in the kustomization', () => {
    const kustomization = parse(
      files.get(`${KUBERNETES_DIR}/kustomization.yaml`)!,
    ) as Doc;
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe('inference');
    expect([...kustomization.resources].sort()).toEqual(
      [...docs.keys()].sort(),
    );
    expect(docs.size).toBe(13);
  });

  it('hold exactly the groups of the generated rule files', () => {
    const rules = new Map(
      ofKind('PrometheusRule').map((r) => [r.metadata.name, r.spec.groups]),
    );
    const recording = parse(files.get(RULE_FILES.recording)!) as Doc;
    const alerts = parse(files.get(RULE_FILES.alerts)!) as Doc;
    expect(rules.get('inference-recording')).toEqual(recording.groups);
    expect(rules.get('inference-alerts')).toEqual(alerts.groups);
    expect(alerts.groups.length).toBeGreaterThan(3);
  });

  it('carry each dashboard as the same JSON, labelled for the Grafana sidecar', () => {
    const dashboards = [...files.keys()].filter((p) =>
      p.startsWith('grafana/dashboards/'),
    );
    const maps = ofKind('ConfigMap');
    expect(maps).toHaveLength(dashboards.length);
    for (const path of dashboards) {
      const name = path.slice('grafana/dashboards/'.length);
      const map = maps.find((m) => name in m.data);
      expect(map, name).toBeDefined();
      expect(map!.data[name]).toBe(files.get(path));
      expect(map!.metadata.labels.grafana_dashboard).toBe('1');
    }
  });

  it('select the pods and ports they mean to', () => {
    const pods = ofKind('Deployment').map((d) => d.spec.template as Doc);
    for (const service of ofKind('Service')) {
      const selected = pods.filter((p) =>
        matches(service.spec.selector, p.metadata.labels),
      );
      expect(selected, service.metadata.name).toHaveLength(1);
      const ports = (selected[0]!.spec.containers as Doc[]).flatMap(
        (c) => c.ports as Doc[],
      );
      for (const port of service.spec.ports as Doc[]) {
        expect(
          ports.map((p) => p.name),
          service.metadata.name,
        ).toContain(port.targetPort);
      }
    }
    for (const deployment of ofKind('Deployment')) {
      expect(
        matches(
          deployment.spec.selector.matchLabels,
          deployment.spec.template.metadata.labels,
        ),
      ).toBe(true);
    }

    const [monitor] = ofKind('ServiceMonitor');
    const scraped = ofKind('Service').filter((s) =>
      matches(monitor!.spec.selector.matchLabels, s.metadata.labels),
    );
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual([
      'inference-exporter-ingest',
      'inference-exporter-sidecar',
    ]);
    for (const service of scraped) {
      expect(service.spec.ports.map((p: Doc) => p.name)).toContain(
        monitor!.spec.endpoints[0].port,
      );
      expect(service.spec.ports[0].port).toBe(DEFAULT_PORT);
    }
    const relabel = monitor!.spec.endpoints[0].relabelings[0];
    expect(`job="${relabel.replacement}"`).toBe(config.exporterSelector);
  });

  it('mount only volumes the pod defines, and Secrets the base ships', () => {
    const secrets = new Set(
      ofKind('Secret').map((s) => s.metadata.name as string),
    );
    const [monitor] = ofKind('ServiceMonitor');
    expect(secrets).toContain(
      monitor!.spec.endpoints[0].basicAuth.password.name,
    );
    for (const deployment of ofKind('Deployment')) {
      const spec = deployment.spec.template.spec;
      const volumes = new Set((spec.volumes as Doc[]).map((v) => v.name));
      for (const c of spec.containers as Doc[]) {
        for (const m of c.volumeMounts as Doc[])
          expect(volumes, `${c.name} ${m.name}`).toContain(m.name);
      }
      for (const v of spec.volumes as Doc[]) {
        if (v.secret) expect(secrets).toContain(v.secret.secretName);
      }
    }
  });

  it('run the exporter locked down, bounded and probed', () => {
    const containers = exporterContainers();
    expect(containers).toHaveLength(2);
    expect(EXPORTER_PORT).toBe(DEFAULT_PORT);
    for (const c of containers) {
      expect(c.image).toBe(config.exporterImage);
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
      });
      expect(c.resources.requests.memory).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.livenessProbe.httpGet).toEqual({
        path: '/-/healthy',
        port: 'metrics',
      });
      expect(c.readinessProbe.httpGet).toEqual({
        path: '/-/ready',
        port: 'metrics',
      });
      expect(c.args).toContain(`--web.listen-address=:${DEFAULT_PORT}`);
      expect(c.args).toContain(
        '--web.config.file=/etc/inference-exporter/web-config.yml',
      );
    }
    const sidecar = containers.find((c) =>
      c.args.some((a: string) => a.startsWith('--source.path=')),
    )!;
    expect(sidecar.args).toContain(
      '--source.path=/var/log/model-server/*.jsonl',
    );
    const logMount = sidecar.volumeMounts.find(
      (m: Doc) => m.mountPath === '/var/log/model-server',
    );
    expect(logMount.readOnly).toBe(true);
    const ingest = containers.find((c) => c !== sidecar)!;
    expect(ingest.args).toContain('--web.enable-ingest');
  });

  it('pass only flags the built CLI documents', () => {
    const help = spawnSync(process.execPath, [CLI, '--help'], {
      encoding: 'utf8',
    });
    expect(help.status).toBe(0);
    const flags = new Set(
      exporterContainers().flatMap((c) =>
        c.args.map((a: string) => a.split('=')[0]),
      ),
    );
    const undocumented = [...flags].filter((flag) => {
      const plain = flag.replace(/^--no-/, '--');
      return (
        !help.stdout.includes(flag) &&
        !help.stdout.includes(`--[no-]${plain.slice(2)}`)
      );
    });
    expect(undocumented).toEqual([]);
  });

  it('ship a web config the exporter loads, whose placeholder admits nobody', async () => {
    const [webConfig] = ofKind('Secret').filter(
      (s) => 'web-config.yml' in s.stringData,
    );
    const dir = mkdtempSync(join(tmpdir(), 'ie-k8s-'));
    temps.push(dir);
    const file = join(dir, 'web-config.yml');
    writeFileSync(file, webConfig!.stringData['web-config.yml']);
    const loaded = loadWebConfig(file);
    const hash = loaded.users.get(SCRAPE_USER)!;
    expect([...loaded.users.keys()]).toEqual([SCRAPE_USER]);
    expect(await bcrypt.compare(PLACEHOLDER_PASSWORD, hash)).toBe(false);
    const [scrapeAuth] = ofKind('Secret').filter(
      (s) => 'password' in s.stringData,
    );
    expect(scrapeAuth!.stringData.username).toBe(SCRAPE_USER);
  });

  it('follow the namespace and image in the bundle config', () => {
    const custom = validateBundleConfig({
      kubernetesNamespace: 'shop',
      exporterImage: 'registry.local/ie:2.0.0',
    });
    const customDocs = baseDocuments(generateBundle(custom));
    for (const doc of customDocs.values())
      expect(doc.metadata.namespace).toBe('shop');
    const images = [...customDocs.values()]
      .filter((d) => d.kind === 'Deployment')
      .flatMap((d) => d.spec.template.spec.containers.map((c: Doc) => c.image));
    expect(images).toContain('registry.local/ie:2.0.0');
    expect(images).not.toContain(config.exporterImage);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], {
    encoding: 'utf8',
  });
  it.skipIf(kubectl.status !== 0)(
    'build with kustomize into every object, namespaced',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'ie-kustomize-'));
      temps.push(dir);
      for (const [path, text] of files) {
        if (path.startsWith(`${KUBERNETES_DIR}/`))
          writeFileSync(join(dir, path.slice(KUBERNETES_DIR.length + 1)), text);
      }
      const built = spawnSync('kubectl', ['kustomize', dir], {
        encoding: 'utf8',
      });
      expect(built.status, built.stderr).toBe(0);
      const objects = built.stdout.split(/^---$/m).map((d) => parse(d) as Doc);
      expect(objects).toHaveLength(docs.size);
      expect(objects.every((o) => o.metadata.namespace === 'inference')).toBe(
        true,
      );
    },
  );
});
