/**
 * The docker-compose stack and the Dockerfile, checked without a Docker
 * engine: `docker-compose config` resolves the file as Compose would, and
 * the resolved services are compared with what the generated bundle
 * (prometheus/, alertmanager/, grafana/) expects to reach and mount.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}

interface Service {
  image?: string;
  build?: { context: string };
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  environment?: Record<string, string>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

let compose: Compose;

beforeAll(() => {
  const run = spawnSync(
    'docker-compose',
    ['-f', 'docker-compose.yml', 'config'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  if (run.error)
    throw new Error(`docker-compose could not run: ${run.error.message}`);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  compose = parse(run.stdout) as Compose;
});

const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};

/** `source:target[:mode]` of the short volume syntax Compose prints. */
function mounts(
  s: Service,
): Array<{ source: string; target: string; mode: string }> {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, mode };
  });
}

/** `host_ip:published:target/proto` as Compose prints it. */
function published(s: Service): string[] {
  return s.ports ?? [];
}

describe('docker-compose.yml', () => {
  it('defines the services of the stack', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'alert-gateway',
      'alertmanager',
      'grafana',
      'inference-exporter',
      'mailpit',
      'model-server',
      'prometheus',
    ]);
  });

  it('pins every image to a version tag', () => {
    const images = Object.fromEntries(
      Object.entries(compose.services).map(([n, s]) => [n, s.image ?? '']),
    );
    expect(images.prometheus).toMatch(/^prom\/prometheus:v3\.\d+\.\d+$/);
    expect(images.alertmanager).toMatch(/^prom\/alertmanager:v0\.\d+\.\d+$/);
    expect(images.grafana).toMatch(/^grafana\/grafana:12\.\d+\.\d+$/);
    expect(images.mailpit).toMatch(/^axllent\/mailpit:v1\.\d+\.\d+$/);
    for (const [name, image] of Object.entries(images)) {
      const tag = image.includes(':')
        ? image.slice(image.lastIndexOf(':') + 1)
        : '';
      expect(tag, `${name} image ${image}`).not.toBe('');
      expect(tag, `${name} image ${image}`).not.toBe('latest');
    }
  });

  it('runs the model server, exporter and gateway from the image built here', () => {
    for (const name of [
      'model-server',
      'inference-exporter',
      'alert-gateway',
    ]) {
      expect(service(name).image).toBe('inference-exporter:local');
      expect(service(name).build?.context).toBe(ROOT.replace(/\/$/, ''));
    }
  });

  it('gives every service a healthcheck', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.healthcheck?.disable, name).not.toBe(true);
      expect(s.healthcheck?.test, name).toBeDefined();
    }
    expect(service('prometheus').healthcheck?.test).toContain(
      'http://127.0.0.1:9090/-/healthy',
    );
    expect(service('alertmanager').healthcheck?.test).toContain(
      'http://127.0.0.1:9093/-/healthy',
    );
    expect(String(service('inference-exporter').healthcheck?.test)).toContain(
      'http://127.0.0.1:10464/-/healthy',
    );
  });

  it('declares every named volume and mounts only paths that exist in the repo', () => {
    const declared = Object.keys(compose.volumes ?? {}).sort();
    expect(declared).toEqual([
      'alertmanager-data',
      'exporter-state',
      'grafana-data',
      'mailpit-data',
      'model-server-logs',
      'prometheus-data',
    ]);
    const used = new Set<string>();
    for (const [name, s] of Object.entries(compose.services)) {
      for (const { source } of mounts(s)) {
        if (source.startsWith('/')) {
          const inRepo = relative(ROOT, source);
          expect(
            inRepo.startsWith('..'),
            `${name} mounts ${source} from outside the repo`,
          ).toBe(false);
          expect(existsSync(source), `${name} mounts missing ${inRepo}`).toBe(
            true,
          );
        } else {
          expect(
            declared,
            `${name} uses undeclared volume ${source}`,
          ).toContain(source);
          used.add(source);
        }
      }
    }
    expect([...used].sort()).toEqual(declared);
  });

  it('shares the model-server log read-only with the exporter, and keeps positions', () => {
    const writer = mounts(service('model-server'));
    const reader = mounts(service('inference-exporter'));
    expect(writer).toContainEqual({
      source: 'model-server-logs',
      target: '/var/log/model-server',
      mode: 'rw',
    });
    expect(reader).toContainEqual({
      source: 'model-server-logs',
      target: '/var/log/model-server',
      mode: 'ro',
    });
    expect(reader).toContainEqual({
      source: 'exporter-state',
      target: '/var/lib/inference-exporter',
      mode: 'rw',
    });

    const demo = [
      ...(service('model-server').entrypoint ?? []),
      ...(service('model-server').command ?? []),
    ];
    expect(demo).toEqual([
      'node',
      'dist/src/demo/main.js',
      '--output=/var/log/model-server/model-server.jsonl',
      '--clock=now',
      '--loop',
      '--no-progress',
      '--web.listen-address=:8080',
    ]);
    expect(service('inference-exporter').command).toEqual([
      '--source.path=/var/log/model-server/model-server.jsonl',
      '--tail.from-beginning',
      '--positions.file=/var/lib/inference-exporter/positions.json',
      '--config.file=/etc/inference-exporter/config.yml',
    ]);
    expect(reader).toContainEqual({
      source: expect.stringMatching(
        /examples\/compose\/inference-exporter\.yml$/,
      ),
      target: '/etc/inference-exporter/config.yml',
      mode: 'ro',
    });
  });

  it('waits for healthy dependencies where the order matters', () => {
    const condition = (from: string, to: string) =>
      service(from).depends_on?.[to]?.condition;
    expect(condition('inference-exporter', 'model-server')).toBe(
      'service_healthy',
    );
    expect(condition('grafana', 'prometheus')).toBe('service_healthy');
    expect(condition('alertmanager', 'mailpit')).toBe('service_healthy');
    expect(condition('alertmanager', 'alert-gateway')).toBe('service_healthy');
    // Prometheus must start even when the exporter is down, to report it.
    expect(
      service('prometheus').depends_on?.['inference-exporter'],
    ).toBeUndefined();
  });

  it('publishes the user-facing ports on loopback only', () => {
    const all = Object.values(compose.services).flatMap(published);
    expect(all.sort()).toEqual([
      '127.0.0.1:10464:10464/tcp',
      '127.0.0.1:3000:3000/tcp',
      '127.0.0.1:8025:8025/tcp',
      '127.0.0.1:9090:9090/tcp',
      '127.0.0.1:9093:9093/tcp',
    ]);
  });
});

describe('docker-compose.yml against the generated bundle', () => {
  const read = (path: string) =>
    parse(readFileSync(resolve(ROOT, path), 'utf8'));

  /** host -> ports the stack listens on inside the compose network. */
  function listening(): Map<string, Set<string>> {
    const ports = new Map<string, Set<string>>();
    const add = (host: string, port: string) =>
      ports.set(host, (ports.get(host) ?? new Set()).add(port));
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of s.expose ?? []) add(name, p);
      for (const p of published(s))
        add(name, p.split(':')[2]!.replace(/\/tcp$/, ''));
    }
    return ports;
  }

  it('mounts Grafana provisioning and dashboards where the provisioning files point', () => {
    const provider = read('grafana/provisioning/dashboards/inference.yaml');
    const dashboardsPath = provider.providers[0].options.path as string;
    const grafana = mounts(service('grafana'));
    expect(grafana).toContainEqual({
      source: resolve(ROOT, 'grafana/dashboards'),
      target: dashboardsPath,
      mode: 'ro',
    });
    expect(grafana).toContainEqual({
      source: resolve(ROOT, 'grafana/provisioning'),
      target: '/etc/grafana/provisioning',
      mode: 'ro',
    });
    const home =
      service('grafana').environment
        ?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
    expect(home.startsWith(dashboardsPath + '/')).toBe(true);
    expect(
      existsSync(
        resolve(
          ROOT,
          'grafana/dashboards',
          home.slice(dashboardsPath.length + 1),
        ),
      ),
    ).toBe(true);
    expect(service('grafana').environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
    });
  });

  it('mounts the Prometheus and Alertmanager config files where their commands read them', () => {
    const prometheus = service('prometheus');
    expect(prometheus.command).toContain(
      '--config.file=/etc/prometheus/prometheus.yml',
    );
    expect(mounts(prometheus)).toContainEqual({
      source: resolve(ROOT, 'prometheus'),
      target: '/etc/prometheus',
      mode: 'ro',
    });
    // Rule files are relative to the config file, so they must be inside the mount.
    for (const file of read('prometheus/prometheus.yml')
      .rule_files as string[]) {
      expect(existsSync(resolve(ROOT, 'prometheus', file)), file).toBe(true);
    }
    const alertmanager = service('alertmanager');
    expect(alertmanager.command).toContain(
      '--config.file=/etc/alertmanager/alertmanager.yml',
    );
    expect(mounts(alertmanager)).toContainEqual({
      source: resolve(ROOT, 'alertmanager'),
      target: '/etc/alertmanager',
      mode: 'ro',
    });
  });

  it('runs a service behind every address the generated configs use', () => {
    const ports = listening();
    const reach = (hostPort: string) => {
      const [host = '', port = ''] = hostPort.split(':');
      return ports.get(host)?.has(port) ?? false;
    };
    const am = read('alertmanager/alertmanager.yml');
    expect(reach(am.global.smtp_smarthost), am.global.smtp_smarthost).toBe(
      true,
    );
    const webhooks = (
      am.receivers as Array<{ webhook_configs?: Array<{ url: string }> }>
    )
      .flatMap((r) => r.webhook_configs ?? [])
      .map((w) => new URL(w.url).host);
    expect(webhooks.sort()).toEqual([
      'alert-gateway:9099',
      'inference-exporter:10464',
    ]);
    for (const host of webhooks) expect(reach(host), host).toBe(true);

    const prom = read('prometheus/prometheus.yml');
    const jobs = prom.scrape_configs as Array<{
      job_name: string;
      metrics_path?: string;
      static_configs: Array<{ targets: string[] }>;
    }>;
    const targets = jobs.flatMap((job) =>
      job.static_configs.flatMap((c) => c.targets),
    );
    const alerting = prom.alerting.alertmanagers[0].static_configs[0]
      .targets as string[];
    const unreachable = [...targets, ...alerting].filter((t) => !reach(t));
    expect(unreachable).toEqual([]);
    // The demo listens on 8080 for /health only; its /metrics answers 404,
    // so this target stays down in the stack (README, "The stack").
    const modelServer = jobs.find((j) => j.job_name === 'model-server')!;
    expect(modelServer.static_configs[0]!.targets).toEqual([
      'model-server:8080',
    ]);
    expect(modelServer.metrics_path).toBe('/metrics');

    // The exporter probes the demo's /health on the port it listens on.
    const exporterConfig = read('examples/compose/inference-exporter.yml');
    const probeUrls = (exporterConfig.probes as Array<{ url: string }>).map(
      (p) => new URL(p.url),
    );
    expect(probeUrls.map((u) => `${u.host}${u.pathname}`)).toEqual([
      'model-server:8080/health',
    ]);
    expect(reach(probeUrls[0]!.host)).toBe(true);
    expect(service('model-server').command).toContain(
      `--web.listen-address=:${probeUrls[0]!.port}`,
    );

    const datasource = read('grafana/provisioning/datasources/prometheus.yaml');
    expect(reach(new URL(datasource.datasources[0].url).host)).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  const all = (word: string) =>
    instructions.filter((l) => l.startsWith(word + ' '));

  it('builds in two stages from a pinned Node LTS image', () => {
    const arg = all('ARG').find((l) => l.startsWith('ARG NODE_IMAGE='));
    expect(arg).toMatch(/^ARG NODE_IMAGE=node:(2[02468])-[a-z]+-slim$/);
    expect(all('FROM')).toEqual([
      'FROM ${NODE_IMAGE} AS build',
      'FROM ${NODE_IMAGE}',
    ]);
    const run = all('RUN').join('\n');
    expect(run).toContain('npm ci');
    expect(run).toContain('npm run build');
    expect(run).toContain('npm prune --omit=dev');
  });

  it('runs as an unprivileged user with the exporter port and entrypoint', () => {
    expect(all('USER')).toEqual(['USER node']);
    expect(all('EXPOSE')).toEqual(['EXPOSE 10464']);
    expect(all('ENTRYPOINT')).toEqual([
      'ENTRYPOINT ["node", "dist/src/cli.js"]',
    ]);
    const health = all('HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]).toContain('CMD ["node", "-e"');
    expect(health[0]).toContain('http://127.0.0.1:10464/-/healthy');
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    const allowed = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1));
    const sources = all('COPY')
      .filter((l) => !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.sort()).toEqual([
      'data',
      'package-lock.json',
      'package.json',
      'src',
      'tsconfig.json',
    ]);
    for (const source of sources) {
      expect(allowed, source).toContain(source);
      expect(existsSync(resolve(ROOT, source)), source).toBe(true);
    }
    // The demo finds its data from the package root the image keeps.
    expect(
      existsSync(resolve(ROOT, 'data/online-retail/online-retail-sample.csv')),
    ).toBe(true);
  });
});
