/**
 * Helpers for web server tests: a tiny app, a server on 127.0.0.1:0 that
 * records its log lines, and an HTTPS client with per-request TLS options.
 */
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { SecureVersion } from 'node:tls';
import express, { type Express } from 'express';
import { createLogger } from '../../src/log.js';
import {
  createWebServer,
  type WebServerOptions,
} from '../../src/server/web.js';

/** The body `/metrics` answers with: 17 + 2 + 1 = 20 bytes. */
export const METRICS_BODY = 'test_metric_total 1\n';

export function testApp(): Express {
  const app = express();
  app.get('/metrics', (_req, res) => {
    res.type('text/plain').send(METRICS_BODY);
  });
  return app;
}

export interface TestServer {
  server: Server;
  port: number;
  /** Every line logged so far, main log and audit alike. */
  lines: string[];
  close(): Promise<void>;
}

export async function startTestServer(
  webConfig: string | undefined,
  options: WebServerOptions = {},
): Promise<TestServer> {
  const lines: string[] = [];
  const log = createLogger({
    level: 'debug',
    write: (line) => lines.push(line),
  });
  const server = createWebServer(testApp(), webConfig, log, {
    pollIntervalMillis: 100,
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { server, port, lines, close };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface TlsClient {
  ca?: string;
  cert?: string;
  key?: string;
  maxVersion?: SecureVersion;
  authorization?: string;
}

/** One HTTPS GET on a fresh connection; rejects when TLS refuses it. */
export function httpsGet(
  port: number,
  path: string,
  client: TlsClient,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: false,
        ca: client.ca,
        cert: client.cert,
        key: client.key,
        maxVersion: client.maxVersion,
        headers: client.authorization
          ? { authorization: client.authorization }
          : {},
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** `Authorization` header value for basic auth. */
export function basic(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/** Polls `done` every 50 ms, failing after `timeoutMs`. */
export async function waitUntil(
  done: () => Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
