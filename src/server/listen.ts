/**
 * Parses `--web.listen-address` values and binds, turning the errors users
 * meet (port in use, no permission) into one clear sentence.
 */
import type { Express } from 'express';
import { createServer, type Server } from 'node:http';

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
    throw new Error(`--web.listen-address: expected [host]:port such as ":10464" or "127.0.0.1:10464", got "${value}"`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

export function listen(app: Express, address: ListenAddress): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
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
    server.listen(address.port, address.host || undefined, () => resolve(server));
  });
}
