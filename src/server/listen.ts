/**
 * Parses `--web.listen-address` values and binds, turning the errors users
 * meet (port in use, no permission) into one clear sentence.
 */
import type { Express } from 'express';
import type { Server } from 'node:http';
import type { Logger } from '../log.js';
import type { AuditLogOptions } from './audit.js';
import { createWebServer } from './web.js';

export interface ListenAddress {
  /** Empty for every interface. */
  host: string;
  port: number;
}

/** Accepts `:10464`, `127.0.0.1:10464`, `[::1]:10464` and `localhost:10464`. */
export function parseListenAddress(value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(
      `--web.listen-address: expected [host]:port such as ":10464" or "127.0.0.1:10464", got "${value}"`,
    );
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

/** What `--web.config.file` and `--web.audit-log.file` ask for. */
export interface WebOptions {
  configFile?: string;
  audit?: AuditLogOptions;
  log: Logger;
}

/**
 * Binds `app` behind the web config's TLS, basic auth, headers and audit
 * log; a bad web config rejects with its file, line and key.
 */
export function listen(
  app: Express,
  address: ListenAddress,
  web: WebOptions,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createWebServer(app, web.configFile, web.log, {
      audit: web.audit,
    });
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${address.host || '[::]'}:${address.port}`;
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use; choose another with --web.listen-address'
          : err.code === 'EACCES'
            ? 'permission denied; ports below 1024 need privileges'
            : err.message;
      reject(new Error(`cannot listen on ${where}: ${why}`));
    });
    server.listen(address.port, address.host || undefined, () =>
      resolve(server),
    );
  });
}
