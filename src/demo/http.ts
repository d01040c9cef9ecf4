/**
 * The demo model server's health endpoint: `GET /health` answers JSON with
 * what the replay has served so far, so the exporter's health probe has a
 * real server to poll. The numbers come from the log lines the replay
 * writes, seen on their way to the file, so /health never claims a list the
 * log does not hold. Every other path answers 404, /metrics included: the
 * demo exports no metrics of its own.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';

import { errText } from '../log.js';
import type { ListenAddress } from '../server/listen.js';

/** The body of `GET /health`. */
export interface HealthBody {
  status: 'ok';
  /** Invoices served, one recommendation request each, empty lists too. */
  invoices_served: number;
  /** Served lists that held at least one item (status `ok`). */
  lists_served: number;
  /** `time` of the last inference line written; null before the first. */
  last_invoice_time: string | null;
  /** Lap of the data file the replay is in; 0 before the first invoice. */
  lap: number;
}

/**
 * The replay keys a visit by its InvoiceNo on the first lap and by
 * `<InvoiceNo>.<lap>` after that, so request ids carry the lap.
 */
const LAP_SUFFIX = /\.(\d+)$/;

interface InferenceLine {
  time?: unknown;
  status?: unknown;
  request_id?: unknown;
}

/** Counts what the replay served from the JSON lines it writes. */
export class ServingTracker {
  private invoices = 0;
  private lists = 0;
  private lastTime: string | null = null;
  private lap = 0;
  private partial = '';

  /** Takes written text; a line split across writes is joined first. */
  observe(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.observeLine(line);
  }

  /** What `/health` reports now. */
  health(): HealthBody {
    return {
      status: 'ok',
      invoices_served: this.invoices,
      lists_served: this.lists,
      last_invoice_time: this.lastTime,
      lap: this.lap,
    };
  }

  private observeLine(line: string): void {
    // Feedback lines far outnumber inference lines; skip them unparsed.
    if (!line.includes('"type":"inference"')) return;
    let event: InferenceLine;
    try {
      event = JSON.parse(line) as InferenceLine;
    } catch {
      return;
    }
    this.invoices += 1;
    if (event.status === 'ok') this.lists += 1;
    if (typeof event.time === 'string') this.lastTime = event.time;
    const id = typeof event.request_id === 'string' ? event.request_id : '';
    this.lap = Number(LAP_SUFFIX.exec(id)?.[1] ?? 1);
  }
}

/**
 * A stream appending to `path` (directories are created) that shows each
 * written chunk to `tracker` once it is in the file. End it to close the
 * file.
 */
export async function trackedFileOutput(
  path: string,
  tracker: ServingTracker,
): Promise<Writable> {
  let file: FileHandle;
  try {
    await mkdir(dirname(path), { recursive: true });
    file = await open(path, 'a');
  } catch (err) {
    throw new Error(`cannot open output file ${path}: ${errText(err)}`);
  }
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      file.appendFile(text, 'utf8').then(() => {
        tracker.observe(text);
        done();
      }, done);
    },
    final(done) {
      file.close().then(() => done(), done);
    },
  });
}

function answer(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answers one request: /health with JSON, anything else 404 or 405. */
export function healthHandler(tracker: ServingTracker) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/health') {
      answer(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      answer(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    const body = `${JSON.stringify(tracker.health())}\n`;
    answer(res, 200, 'application/json', body);
  };
}

/** A listening health server. */
export interface HealthServer {
  /** host:port it is bound to, with the port the system chose for 0. */
  address: string;
  close(): Promise<void>;
}

/** Binds the health endpoint; rejects naming the address when it cannot. */
export function startHealthServer(
  listen: ListenAddress,
  tracker: ServingTracker,
): Promise<HealthServer> {
  const server: Server = createServer(healthHandler(tracker));
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      const where = `${listen.host || '[::]'}:${listen.port}`;
      reject(new Error(`cannot listen on ${where}: ${errText(err)}`));
    });
    server.listen(listen.port, listen.host || undefined, () => {
      const bound = server.address() as AddressInfo;
      const host =
        bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve({
        address: `${host}:${bound.port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
