/**
 * `POST /-/remediate`: the Alertmanager webhook receiver that turns
 * alerts carrying an `action` label into restarts and failovers.
 *
 * The route has no authentication of its own; the shared authentication
 * middleware goes in front of it. Until then it should only be reachable
 * from Alertmanager's network.
 */
import express, {
  Router,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { errText, type Logger } from '../log.js';
import type { MetricStore } from '../metrics/store.js';
import type { RemediationConfig } from './config.js';
import {
  PayloadError,
  parseWebhookPayload,
  type WebhookPayload,
} from './payload.js';
import { Remediator, type ActionRunner } from './remediator.js';

/** Where Alertmanager posts; matches the generated alertmanager.yml. */
export const REMEDIATE_PATH = '/-/remediate';

export interface RemediationRouterOptions {
  config: RemediationConfig;
  /** Receives `inference_remediation_*` metrics. */
  store: MetricStore;
  log: Logger;
  /** The clock for cooldowns and hourly caps, in ms; for tests. */
  now?: () => number;
  /** Replaces the real command and failover runners; for tests. */
  runAction?: ActionRunner;
}

/** Body-parser errors carry an HTTP status and a `type`. */
interface BodyError {
  status?: number;
  type?: string;
}

function refuse(res: Response, status: number, message: string): void {
  res.status(status).json({ status: 'error', error: message });
}

/**
 * Answers every error of the route: body-reading failures with their own
 * status and a clear message, anything else with a logged 500.
 */
function routeErrors(config: RemediationConfig, log: Logger) {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, type } = (err ?? {}) as BodyError;
    if (type === 'entity.too.large') {
      return refuse(res, 413, `body larger than ${config.maxBodyBytes} bytes`);
    }
    if (type === 'entity.parse.failed') {
      return refuse(res, 400, `malformed JSON: ${errText(err)}`);
    }
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return refuse(res, 415, errText(err));
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return refuse(res, status, errText(err));
    }
    log.error('remediation request failed', { err: errText(err) });
    refuse(res, 500, 'internal error');
  };
}

/**
 * The router serving `POST /-/remediate`. Mount it on the exporter's app
 * (`app.use(remediationRouter({...}))`); it registers its metrics in
 * `store` and keeps cooldowns for the life of the process.
 */
export function remediationRouter(options: RemediationRouterOptions): Router {
  const { config } = options;
  const remediator = new Remediator(options);
  const log = options.log.child('remediation');
  const router = Router();
  log.info('remediation receiver enabled', {
    path: REMEDIATE_PATH,
    rules: config.rules.map((r) => r.name).join(',') || undefined,
    dry_run: config.dryRun,
    max_actions_per_hour: config.maxActionsPerHour,
  });

  router.post(
    REMEDIATE_PATH,
    (req, res, next) => {
      if (req.is('application/json')) return next();
      refuse(res, 415, 'Content-Type must be application/json');
    },
    express.json({ limit: config.maxBodyBytes, strict: true }),
    async (req, res) => {
      let payload: WebhookPayload;
      try {
        payload = parseWebhookPayload(req.body);
      } catch (err) {
        if (!(err instanceof PayloadError)) throw err;
        log.warn('webhook payload refused', { err: err.message });
        const message = `not an Alertmanager webhook payload: ${err.message}`;
        return refuse(res, 400, message);
      }
      const decisions = await remediator.handle(payload);
      res.json({ status: 'success', decisions });
    },
  );
  router.all(REMEDIATE_PATH, (_req, res) => {
    res.set('Allow', 'POST');
    refuse(res, 405, 'use POST');
  });
  router.use(REMEDIATE_PATH, routeErrors(config, log));
  return router;
}
