/**
 * A metrics server for the scrape benchmark, in its own process: the
 * exporter's app over a store holding a given number of series, or the
 * floor, a bare node:http server over a prom-client registry holding the
 * same series. Prints `port=N` once listening on 127.0.0.1.
 *
 *   node scrape-server.js exporter|floor LABEL_SETS
 */
import { createServer } from 'node:http';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';
import { defaultConfig } from '../src/config/schema.js';
import { startExporter } from '../src/exporter.js';
import type { FeedbackEvent, InferenceEvent } from '../src/formats/events.js';
import { silentLogger } from '../src/log.js';
import {
  ALL_METRICS,
  exporter as exporterDefs,
} from '../src/metrics/definitions.js';
import { Recorder } from '../src/metrics/recorder.js';
import {
  CounterFamily,
  GaugeFamily,
  HistogramFamily,
  MetricStore,
} from '../src/metrics/store.js';
import { VERSION } from '../src/version.js';

const SCENES = ['search', 'recommend', 'home'];
const MODELS = 40;

/** One served list and one purchase for each of `labelSets` label sets. */
function fill(recorder: Recorder, labelSets: number): void {
  const timeMs = Date.now();
  for (let i = 0; i < labelSets; i++) {
    const list: InferenceEvent = {
      kind: 'inference',
      timeMs,
      model: `model-${i % MODELS}`,
      version: `v${Math.floor(i / (MODELS * SCENES.length))}`,
      scene: SCENES[Math.floor(i / MODELS) % SCENES.length]!,
      outcome: 'ok',
      latencySeconds: 0.001 * (1 + (i % 200)),
      items: ['85123A', '71053', '84406B', '22752', '21730'],
      requestId: `req-${i}`,
      userKey: `user-${i}`,
    };
    recorder.line({ ok: true, event: list });
    const purchase: FeedbackEvent = {
      kind: 'feedback',
      timeMs,
      itemId: '71053',
      action: 'purchase',
      userKey: `user-${i}`,
    };
    recorder.line({ ok: true, event: purchase });
  }
}

/** The same series as the store's, in a prom-client registry. */
function floorRegistry(store: MetricStore): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type === 'gauge' && name.endsWith('_total'))
      registry.removeSingleMetric(name);
  }
  for (const def of ALL_METRICS) {
    const family = store.get(def.name);
    if (!family) continue;
    const common = {
      name: def.name,
      help: def.help,
      labelNames: [...def.labels],
      registers: [registry],
    };
    if (family instanceof HistogramFamily) {
      const histogram = new Histogram({
        ...common,
        buckets: [...family.bounds],
      });
      for (const { values, child } of family.children.values()) {
        histogram
          .labels(...values)
          .observe(child.count ? child.sum / child.count : 0);
      }
    } else if (family instanceof CounterFamily) {
      const counter = new Counter(common);
      for (const { values, child } of family.children.values()) {
        counter.labels(...values).inc(child.value);
      }
    } else if (family instanceof GaugeFamily) {
      const gauge = new Gauge(common);
      for (const { values, child } of family.children.values()) {
        gauge.labels(...values).set(child.value);
      }
    }
  }
  return registry;
}

/** The exporter as the CLI wires it, with no sources and no host metrics. */
async function serveExporter(labelSets: number): Promise<number> {
  const config = defaultConfig();
  config.host.enabled = false;
  config.limits.maxLabelSets = labelSets;
  const exporter = await startExporter({
    config,
    listen: { host: '127.0.0.1', port: 0 },
    telemetryPath: '/metrics',
    log: silentLogger,
  });
  fill(exporter.recorder, labelSets);
  return exporter.port;
}

/** The same store contents, kept only long enough to copy them. */
function floorStore(labelSets: number): MetricStore {
  const config = defaultConfig();
  const store = new MetricStore();
  const recorder = new Recorder(store, {
    k: config.attribution.k,
    windowSeconds: config.window.seconds,
    attributionWindowSeconds: config.attribution.windowSeconds,
    maxPendingLists: config.attribution.maxPendingLists,
  });
  fill(recorder, labelSets);
  // The exporter's own two series, as it registers them at start.
  store
    .gauge(exporterDefs.buildInfo)
    .labels(VERSION, process.versions.node)
    .set(1);
  store
    .gauge(exporterDefs.startTime)
    .labels()
    .set(Math.floor(Date.now() / 1000));
  store.collect();
  return store;
}

function serveFloor(registry: Registry): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.statusCode = 404;
      res.end();
      return;
    }
    registry.metrics().then(
      (body) => {
        res.setHeader('Content-Type', registry.contentType);
        res.end(body);
      },
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

async function main(): Promise<void> {
  const [kind, count] = process.argv.slice(2);
  const labelSets = Number(count);
  if ((kind !== 'exporter' && kind !== 'floor') || !(labelSets >= 1)) {
    throw new Error('usage: scrape-server.js exporter|floor LABEL_SETS');
  }
  const port =
    kind === 'exporter'
      ? await serveExporter(labelSets)
      : await serveFloor(floorRegistry(floorStore(labelSets)));
  process.stdout.write(`port=${port}\n`);
}

await main();
