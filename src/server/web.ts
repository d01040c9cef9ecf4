/**
 * The HTTP or HTTPS server in front of the app: TLS, basic auth, extra
 * response headers and the access audit log, all from `--web.config.file`.
 *
 * The web config and every file it names are polled; a valid change swaps
 * the TLS context, the users and the headers in place, and an invalid one
 * is logged and ignored, so a bad edit never takes the exporter down.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type RequestListener,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:http';
import type { TLSSocket } from 'node:tls';
import express, {
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { errText, type Fields, type Logger } from '../log.js';
import {
  auditMiddleware,
  openAuditLog,
  type AuditLogOptions,
} from './audit.js';
import { BasicAuth } from './auth.js';
import {
  clientCertificateProblem,
  clientCertificateRequest,
  secureContextOptions,
  type ClientAuthType,
} from './tls.js';
import { loadWebConfig, type WebConfig } from './webconfig.js';

/** Options beyond the web config file. */
export interface WebServerOptions {
  /** Audit lines to a file of their own (`--web.audit-log.file`). */
  audit?: AuditLogOptions;
  /** How often the web config and its files are checked for changes. */
  pollIntervalMillis?: number;
}

const DEFAULT_POLL_INTERVAL_MILLIS = 2000;

/** What a reload may change without a restart. */
interface LiveSettings {
  headers: Record<string, string>;
  clientAuthType: ClientAuthType;
}

/**
 * Creates, without listening, the server for `app`. With no web config it
 * is plain HTTP with the audit log only. A bad web config throws a
 * `ConfigError` naming the file, line and key. Polling and the audit file
 * stop when the server closes.
 */
export function createWebServer(
  app: RequestListener,
  webConfigPath: string | undefined,
  log: Logger,
  options: WebServerOptions = {},
): Server {
  const config: WebConfig = webConfigPath
    ? loadWebConfig(webConfigPath)
    : { headers: {}, users: new Map(), files: [] };
  const weblog = log.child('web');
  const live: LiveSettings = {
    headers: config.headers,
    clientAuthType: config.tls?.clientAuthType ?? 'NoClientCert',
  };
  const auth = new BasicAuth(config.users);
  const audit = openAuditLog(log, options.audit);

  const front = frontApp(app, live, auth, audit.logger);
  const server = config.tls
    ? createHttpsServer(
        {
          ...secureContextOptions(config.tls),
          ...clientCertificateRequest(config.tls.clientAuthType),
        },
        front,
      )
    : createHttpServer(front);
  if (config.tls) enforceClientPolicy(server, live, weblog);
  describe(weblog, webConfigPath, config);

  const stopWatching = webConfigPath
    ? watchWebConfig(webConfigPath, config, options, weblog, (next) =>
        applyReload(server, config, next, live, auth),
      )
    : () => {};
  server.once('close', () => {
    stopWatching();
    void audit.close();
  });
  return server;
}

/**
 * Liveness and readiness answer without credentials, as orchestrators'
 * probes carry none; they say only "Healthy." or "Ready.".
 */
const OPEN_PATHS = new Set(['/-/healthy', '/-/ready']);

/**
 * The app behind audit, headers and auth, in that order: refused requests
 * are audited and carry the headers too.
 */
function frontApp(
  app: RequestListener,
  live: LiveSettings,
  auth: BasicAuth,
  audit: Logger,
): express.Express {
  const front = express();
  front.disable('x-powered-by');
  front.use(auditMiddleware(audit));
  front.use((_req: Request, res: Response, next: NextFunction) => {
    res.set(live.headers);
    next();
  });
  const guard = auth.middleware();
  front.use((req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' && OPEN_PATHS.has(req.path)) return next();
    return guard(req, res, next);
  });
  front.use(app as express.RequestHandler);
  return front;
}

/** Refuses, right after the handshake, clients the policy does not admit. */
function enforceClientPolicy(
  server: Server,
  live: LiveSettings,
  log: Logger,
): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    const problem = clientCertificateProblem(socket, live.clientAuthType);
    if (!problem) return;
    log.debug('refused a TLS client', { reason: problem });
    socket.destroy();
  });
  server.on('tlsClientError', (err: Error) => {
    log.debug('TLS handshake failed', { err: errText(err) });
  });
}

/** What a config turns on, for the startup and reload log lines. */
function summary(file: string | undefined, config: WebConfig): Fields {
  return {
    file: file ?? '-',
    tls: config.tls !== undefined,
    client_auth_type: config.tls?.clientAuthType,
    min_version: config.tls?.minVersion,
    basic_auth_users: config.users.size,
    headers: Object.keys(config.headers).join(',') || undefined,
  };
}

function describe(
  log: Logger,
  file: string | undefined,
  config: WebConfig,
): void {
  log.info('web config', summary(file, config));
  if (config.http2 === true && config.tls) {
    log.warn('http2 is not served; clients use HTTP/1.1', { file });
  }
}

/**
 * Applies a changed config in place. TLS cannot be turned on or off on a
 * listening socket, so such a change throws and nothing is applied.
 */
function applyReload(
  server: Server,
  current: WebConfig,
  next: WebConfig,
  live: LiveSettings,
  auth: BasicAuth,
): void {
  if (Boolean(current.tls) !== Boolean(next.tls)) {
    throw new Error('switching between TLS and plain HTTP needs a restart');
  }
  if (next.tls) {
    const tlsServer = server as unknown as {
      setSecureContext(options: object): void;
      requestCert: boolean;
      rejectUnauthorized: boolean;
    };
    tlsServer.setSecureContext(secureContextOptions(next.tls));
    // New connections read these two from the server object.
    Object.assign(tlsServer, clientCertificateRequest(next.tls.clientAuthType));
    live.clientAuthType = next.tls.clientAuthType;
  }
  live.headers = next.headers;
  auth.setUsers(next.users);
  Object.assign(current, next);
}

/** A digest of every file the config reads; missing files count too. */
function fingerprint(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(file).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch (err) {
      hash.update(`missing:${(err as NodeJS.ErrnoException).code ?? ''}`);
    }
    hash.update('\0');
  }
  return hash.digest('hex');
}

/**
 * Polls the config and its files. After a failed load it tries again on
 * every tick, since the fix may be in a file the bad config did not name,
 * but logs each distinct error once.
 */
function watchWebConfig(
  file: string,
  initial: WebConfig,
  options: WebServerOptions,
  log: Logger,
  apply: (next: WebConfig) => void,
): () => void {
  let files = initial.files;
  let seen = fingerprint(files);
  let lastError: string | undefined;

  const tick = () => {
    const now = fingerprint(files);
    if (now === seen && lastError === undefined) return;
    try {
      const next = loadWebConfig(file);
      apply(next);
      // Taken before the load, so a write during it is seen next tick.
      const sameFiles = next.files.join('\0') === files.join('\0');
      files = next.files;
      seen = sameFiles ? now : fingerprint(files);
      lastError = undefined;
      log.info('web config reloaded', summary(file, next));
    } catch (err) {
      seen = now;
      const text = errText(err);
      if (text !== lastError) {
        log.error('web config change rejected; keeping the running one', {
          file,
          err: text,
        });
      }
      lastError = text;
    }
  };
  const interval = options.pollIntervalMillis ?? DEFAULT_POLL_INTERVAL_MILLIS;
  const timer = setInterval(tick, interval);
  timer.unref();
  return () => clearInterval(timer);
}
