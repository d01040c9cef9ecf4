/**
 * The HTTP app: metrics in both exposition formats, a landing page, and
 * the health and readiness endpoints that Prometheus tools expect.
 */
import express, { type Express, type Request, type Response } from 'express';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../log.js';
import { errText } from '../log.js';
import type { ExpositionFormat, MetricStore } from '../metrics/store.js';
import { statusRouter } from './status.js';
import type { StatusHistory } from './status-history.js';

export interface AppOptions {
  store: MetricStore;
  telemetryPath: string;
  version: string;
  log: Logger;
  /** True once sources are open and positions are loaded. */
  isReady: () => boolean;
  /** Recent readings behind the status page. */
  history: StatusHistory;
}

const OPENMETRICS_TYPE =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';
const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * OpenMetrics only when the client asks for it by name, as Prometheus does
 * with its Accept header; everything else gets the classic text format.
 */
export function negotiate(accept: string | undefined): ExpositionFormat {
  return accept && /application\/openmetrics-text/i.test(accept)
    ? 'openmetrics'
    : 'prometheus';
}

/** Process and Node.js runtime metrics, one registry per format. */
function runtimeRegistries(): Record<ExpositionFormat, Registry> {
  const prometheus = new Registry();
  const openmetrics = new Registry();
  openmetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  for (const registry of [prometheus, openmetrics]) {
    collectDefaultMetrics({ register: registry });
    dropMisnamedGauges(registry);
  }
  return { prometheus, openmetrics };
}

/**
 * prom-client's defaults include gauges named `..._total` (active handles,
 * requests, resources), which `promtool check metrics` rejects because the
 * suffix is for counters; the same counts remain, by type, without it.
 */
function dropMisnamedGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type === 'gauge' && name.endsWith('_total'))
      registry.removeSingleMetric(name);
  }
}

export function createApp(options: AppOptions): Express {
  const { store, telemetryPath, log } = options;
  const runtime = runtimeRegistries();
  const app = express();
  app.disable('x-powered-by');

  app.get(telemetryPath, async (req: Request, res: Response) => {
    const format = negotiate(req.get('accept'));
    try {
      store.collect((err) =>
        log.error('metric collection failed', { err: errText(err) }),
      );
      const own = store.render(format).replace(/# EOF\n$/, '');
      const rt = (await runtime[format].metrics()).replace(/# EOF\n$/, '');
      const body =
        format === 'openmetrics' ? `${own}${rt}# EOF\n` : `${own}\n${rt}`;
      res
        .type(format === 'openmetrics' ? OPENMETRICS_TYPE : PROMETHEUS_TYPE)
        .send(body);
    } catch (err) {
      log.error('scrape failed', { err: errText(err) });
      res.status(500).type('text/plain').send('scrape failed\n');
    }
  });

  app.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('Healthy.\n');
  });

  app.get('/-/ready', (_req, res) => {
    const ready = options.isReady();
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'Ready.\n' : 'Not ready.\n');
  });

  app.use(
    statusRouter({
      store,
      history: options.history,
      version: options.version,
      telemetryPath,
      onError: (err) => log.error('status page failed', { err: errText(err) }),
    }),
  );

  return app;
}
