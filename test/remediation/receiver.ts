/**
 * Starts the remediation router on a fresh express app bound to
 * 127.0.0.1:0, with a JSON logger whose lines the test can read and a
 * clock the test moves by hand.
 */
import express from 'express';
import type { Server } from 'node:http';
import { createLogger } from '../../src/log.js';
import { MetricStore } from '../../src/metrics/store.js';
import {
  defaultRemediationConfig,
  type RemediationConfig,
  type RemediationRule,
} from '../../src/remediation/config.js';
import type { ActionRunner } from '../../src/remediation/remediator.js';
import { remediationRouter } from '../../src/remediation/router.js';

export interface Receiver {
  url: string;
  store: MetricStore;
  /** Parsed JSON log lines, in order. */
  lines: Array<Record<string, unknown>>;
  /** The audit lines only. */
  decisions(): Array<Record<string, unknown>>;
  clock: { ms: number };
  post(
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<globalThis.Response>;
  close(): Promise<void>;
}

/** A rule with defaults filled in, overridden by `fields`. */
export function rule(
  fields: Partial<RemediationRule> & Pick<RemediationRule, 'name'>,
): RemediationRule {
  return {
    match: { alertname: 'InferenceModelServerDown', action: 'restart' },
    action: {
      type: 'compose-restart',
      service: 'model-server',
      composeCommand: ['docker', 'compose'],
      composeFile: '',
      project: '',
      timeoutSeconds: 60,
    },
    cooldownSeconds: 600,
    cooldownBy: [],
    maxActionsPerHour: 0,
    ...fields,
  };
}

export async function startReceiver(
  config: Partial<RemediationConfig>,
  runAction?: ActionRunner,
): Promise<Receiver> {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    format: 'json',
    write: (l) => lines.push(JSON.parse(l)),
  });
  const store = new MetricStore();
  const clock = { ms: Date.parse('2026-12-04T10:00:00Z') };
  const app = express();
  app.use(
    remediationRouter({
      config: { ...defaultRemediationConfig(), enabled: true, ...config },
      store,
      log,
      now: () => clock.ms,
      runAction,
    }),
  );
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}/-/remediate`;
  return {
    url,
    store,
    lines,
    decisions: () => lines.filter((l) => l.msg === 'remediation decision'),
    clock,
    post: (body, headers = { 'content-type': 'application/json' }) =>
      fetch(url, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The value of one sample in the store's text exposition, or undefined. */
export function sample(store: MetricStore, series: string): number | undefined {
  for (const line of store.render('prometheus').split('\n')) {
    if (line.startsWith(series + ' '))
      return Number(line.slice(series.length + 1));
  }
  return undefined;
}
