/**
 * The access audit log: one structured line per HTTP request, with the
 * matched route (never the raw URL and its query), the method, the status,
 * the body bytes sent, the duration, the authenticated user, and the
 * client address masked by `maskAddress` (never the full address).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authenticatedUser } from './auth.js';
import {
  createLogger,
  errText,
  maskAddress,
  type LogFormat,
  type Logger,
} from '../log.js';

/** Where audit lines go. */
export interface AuditLogOptions {
  /**
   * A file to append audit lines to, apart from the main log
   * (`--web.audit-log.file`). Unset: the main log, component `audit`.
   */
  file?: string;
  /** Line format for the file; the main log keeps its own. */
  format?: LogFormat;
}

/** An open audit log; `close` flushes and closes its file, if any. */
export interface AuditLog {
  logger: Logger;
  close(): Promise<void>;
}

/**
 * Opens the audit log. A file that cannot be written is reported once on
 * the main log; requests are served regardless.
 */
export function openAuditLog(
  log: Logger,
  options: AuditLogOptions = {},
): AuditLog {
  if (!options.file) {
    return { logger: log.child('audit'), close: async () => {} };
  }
  const file = options.file;
  const stream: WriteStream = createWriteStream(file, { flags: 'a' });
  let failed = false;
  stream.on('error', (err) => {
    if (failed) return;
    failed = true;
    log.error('cannot write the audit log', {
      component: 'audit',
      file,
      err: errText(err),
    });
  });
  const logger = createLogger(
    {
      format: options.format ?? 'logfmt',
      write: (line) => {
        if (!failed) stream.write(line + '\n');
      },
    },
    'audit',
  );
  const close = () =>
    new Promise<void>((resolve) => {
      if (stream.closed || stream.destroyed) return resolve();
      stream.end(() => resolve());
    });
  return { logger, close };
}

/** The route pattern that handled a request, or `-` when none did. */
export function matchedRoute(req: Request): string {
  const path: unknown = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : '-';
}

/**
 * Middleware that writes one audit line when the response is finished, or
 * when the client goes away first (`aborted=true`). Mount it first, so
 * refused requests are logged too.
 */
export function auditMiddleware(audit: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const bytes = countBodyBytes(res);
    let written = false;
    const write = (aborted: boolean) => {
      if (written) return;
      written = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      audit.info('request', {
        method: req.method,
        route: matchedRoute(req),
        status: res.statusCode,
        bytes: bytes(),
        duration_seconds: Number(seconds.toFixed(6)),
        user: authenticatedUser(res) ?? '-',
        client: maskAddress(req.socket.remoteAddress) || '-',
        aborted: aborted || undefined,
      });
    };
    res.once('finish', () => write(false));
    res.once('close', () => write(!res.writableFinished));
    next();
  };
}

/** Counts the body bytes passed to `write` and `end`; returns the reader. */
function countBodyBytes(res: Response): () => number {
  let total = 0;
  const add = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === 'string') {
      const enc = typeof encoding === 'string' ? encoding : 'utf8';
      total += Buffer.byteLength(chunk, enc as BufferEncoding);
    } else if (chunk instanceof Uint8Array) {
      total += chunk.byteLength;
    }
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.write = ((...args: unknown[]) => {
    add(args[0], args[1]);
    return write(...args);
  }) as Response['write'];
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== 'function') add(args[0], args[1]);
    return end(...args);
  }) as Response['end'];
  return () => total;
}
