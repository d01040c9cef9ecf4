/**
 * The live status page and the JSON behind it: per model, version and
 * scene the request rate, latency quantiles, error ratio and
 * recommendation quality over the last minutes, with the host's resources
 * and the probe state. Everything comes from the metric store.
 */
import { Router, type Request, type Response } from 'express';

import type { MetricStore } from '../metrics/store.js';
import type {
  HostHistory,
  ModelHistory,
  StatusHistory,
} from './status-history.js';
import { statusPage } from './status-page.js';
import {
  readHost,
  readProbes,
  type HostReading,
  type ProbeReading,
} from './status-readings.js';

export interface StatusRouterOptions {
  store: MetricStore;
  history: StatusHistory;
  version: string;
  /** Where the metrics are served; the page links to it. */
  telemetryPath: string;
  /** Seconds between page refreshes; the history's interval by default. */
  refreshSeconds?: number;
  /** Wall clock in milliseconds; tests pass their own. */
  now?: () => number;
  /** Where a failure to build the status is reported. */
  onError?: (err: unknown) => void;
}

/** The body of `GET /api/v1/status`. Undefined figures are null. */
export interface StatusReport {
  generatedAt: string;
  version: string;
  /** Seconds the model figures cover. */
  windowSeconds: number;
  models: ModelHistory[];
  probes: ProbeReading[];
  host: HostReading & { history: HostHistory };
}

/** The status as it stands: history figures, live host gauges, probes. */
export function statusReport(
  options: Pick<StatusRouterOptions, 'store' | 'history' | 'version' | 'now'>,
): StatusReport {
  const { store, history } = options;
  const now = options.now ?? Date.now;
  const recorded = history.report();
  return {
    generatedAt: new Date(now()).toISOString(),
    version: options.version,
    windowSeconds: recorded.windowSeconds,
    models: recorded.models,
    probes: readProbes(store),
    host: { ...readHost(store), history: recorded.host },
  };
}

/**
 * Serves the page at `/` and its JSON at `/api/v1/status`, relative to
 * wherever the router is mounted.
 */
export function statusRouter(options: StatusRouterOptions): Router {
  const page = statusPage({
    version: options.version,
    telemetryPath: options.telemetryPath,
    refreshSeconds: options.refreshSeconds ?? options.history.intervalSeconds,
  });
  const router = Router();

  router.get('/', (req: Request, res: Response) => {
    // The page's links are relative to its directory, so mounted under a
    // prefix it must be asked for with the trailing slash.
    const path = req.originalUrl.split('?')[0] ?? '/';
    if (!path.endsWith('/')) {
      res.redirect(301, `./${path.slice(path.lastIndexOf('/') + 1)}/`);
      return;
    }
    res
      .set('Content-Security-Policy', page.contentSecurityPolicy)
      .set('X-Content-Type-Options', 'nosniff')
      .set('Referrer-Policy', 'no-referrer')
      .type('html')
      .send(page.html);
  });

  router.get('/api/v1/status', (_req: Request, res: Response) => {
    res
      .set('Cache-Control', 'no-store')
      .set('X-Content-Type-Options', 'nosniff');
    let report: StatusReport;
    try {
      report = statusReport(options);
    } catch (err) {
      options.onError?.(err);
      res.status(500).json({ error: 'status unavailable' });
      return;
    }
    res.json(report);
  });

  return router;
}
