/**
 * Wires one running exporter: sources feed parsers, parsers feed the
 * recorder, a timer saves positions together with the counters they
 * produced, and the HTTP app serves the result.
 */
import type { Express } from 'express';
import type { Server } from 'node:http';
import {
  defaultSource,
  type Config,
  type SourceConfig,
} from './config/schema.js';
import { createParser, parserOptions } from './formats/index.js';
import { kserveRouter } from './formats/kserve.js';
import type { LineResult } from './formats/events.js';
import { startHostCollector } from './host/collector.js';
import { errText, type LogFormat, type Logger } from './log.js';
import * as defs from './metrics/definitions.js';
import { Recorder } from './metrics/recorder.js';
import { MetricStore, type StoreSnapshot } from './metrics/store.js';
import { remediationRouter } from './remediation/router.js';
import { createApp } from './server/app.js';
import { ingestRouter } from './server/ingest.js';
import { startProbes } from './sources/probe.js';
import { StatusHistory } from './server/status-history.js';
import { listen, type ListenAddress } from './server/listen.js';
import { PositionsFile, type FilePosition } from './sources/positions.js';
import { Tailer, type TailedLine } from './sources/tail.js';
import { VERSION } from './version.js';

export interface ExporterOptions {
  config: Config;
  listen: ListenAddress;
  telemetryPath: string;
  log: Logger;
  /** The exporter-toolkit web config: TLS, basic auth, headers. */
  webConfigFile?: string;
  /** A file for the access audit log, apart from the main log. */
  auditLogFile?: string;
  /** Serve POST /ingest and POST /data. */
  enableIngest?: boolean;
  logFormat?: LogFormat;
}

/** How many bad lines are logged with file and line before only counting. */
const LOGGED_BAD_LINES = 10;

export interface RunningExporter {
  store: MetricStore;
  recorder: Recorder;
  server: Server;
  /** The bound port, useful when listening on port 0. */
  port: number;
  /** Reads every source to its current end and processes the lines. */
  drain(): Promise<void>;
  /** Saves positions now. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/** Positions file content beyond offsets: the counters they account for. */
interface PositionsExtra {
  counters: StoreSnapshot;
}

export async function startExporter(
  options: ExporterOptions,
): Promise<RunningExporter> {
  const { config, log } = options;
  const store = new MetricStore();
  registerBuildInfo(store);
  const recorder = new Recorder(store, {
    k: config.attribution.k,
    windowSeconds: config.window.seconds,
    attributionWindowSeconds: config.attribution.windowSeconds,
    maxPendingLists: config.attribution.maxPendingLists,
    maxLabelSets: config.limits.maxLabelSets,
    maxOutcomesPerLabelSet: config.limits.maxOutcomesPerLabelSet,
    holdFeedbackMillis: config.attribution.holdFeedbackSeconds * 1000,
    maxHeldFeedback: config.attribution.maxHeldFeedback,
  });

  const positions = config.positions.file
    ? new PositionsFile(config.positions.file, log.child('positions'))
    : undefined;
  const saved = await positions?.load();
  const extra = saved?.extra as PositionsExtra | undefined;
  if (extra?.counters) store.restore(extra.counters);

  const onBadLine = badLineLogger(log);

  const tailers = config.sources.map((source) =>
    startSource(
      source,
      config,
      store,
      recorder,
      log,
      onBadLine,
      saved?.files ?? [],
      saved !== undefined,
    ),
  );
  await Promise.all(tailers.map((t) => t.start()));
  const host = config.host.enabled
    ? startHostCollector(store, config.host, log)
    : undefined;
  const probes = startProbes(store, config.probes, log.child('probe'));

  const positionsSync = startPositionsSync(
    positions,
    config.positions,
    () => tailers.flatMap((t) => t.positions()),
    store,
    log,
  );

  const history = new StatusHistory(store, {
    onError: (err) =>
      log.error('status history failed', {
        component: 'web',
        err: errText(err),
      }),
  });
  history.start();

  const app = createApp({
    store,
    telemetryPath: options.telemetryPath,
    version: VERSION,
    log: log.child('web'),
    isReady: () => true,
    history,
  });
  mountOptionalRoutes(app, options, recorder, store, log);
  const server = await listen(app, options.listen, {
    configFile: options.webConfigFile,
    audit: { file: options.auditLogFile, format: options.logFormat },
    log,
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  log.info('listening', {
    component: 'web',
    address: `${options.listen.host || '[::]'}:${port}`,
    telemetry_path: options.telemetryPath,
  });

  return {
    store,
    recorder,
    server,
    port,
    drain: async () => {
      await Promise.all(tailers.map((t) => t.drain()));
    },
    sync: positionsSync.sync,
    stop: async () => {
      history.stop();
      host?.stop();
      await probes.stop();
      await Promise.all(tailers.map((t) => t.stop()));
      await positionsSync.stop();
      const closed = new Promise<void>((resolve) =>
        server.close(() => resolve()),
      );
      // Keep-alive scrapers would otherwise hold the close open.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Logs the first few malformed lines with file and line, then only counts. */
function badLineLogger(
  log: Logger,
): (line: TailedLine, result: LineResult & { ok: false }) => void {
  let badLines = 0;
  return (line, result) => {
    if (result.skipped || ++badLines > LOGGED_BAD_LINES) return;
    log.warn('malformed line', {
      component: 'parse',
      file: line.file,
      line: line.line,
      reason: result.reason,
      field: result.field,
      note:
        badLines === LOGGED_BAD_LINES
          ? 'further malformed lines are counted, not logged'
          : undefined,
    });
  };
}

/**
 * Saves offsets and the counters they produced, together, on a timer and
 * on demand. A failing save is counted every time and logged when its
 * reason changes.
 */
function startPositionsSync(
  positions: PositionsFile | undefined,
  settings: Config['positions'],
  offsets: () => FilePosition[],
  store: MetricStore,
  log: Logger,
): { sync: () => Promise<void>; stop: () => Promise<void> } {
  const errors = store.counter(defs.ingest.errors);
  const fields = { component: 'positions', file: settings.file };
  let lastFailure = '';
  const save = async () => {
    if (!positions) return;
    const files = offsets();
    const counters = store.snapshot(isPersisted);
    try {
      await positions.save({
        version: 1,
        files,
        extra: { counters } satisfies PositionsExtra,
      });
      if (lastFailure) log.info('positions saved again', fields);
      lastFailure = '';
    } catch (err) {
      errors.labels('positions_write').inc();
      const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
      const reason = cause?.code ?? errText(err);
      if (reason !== lastFailure) {
        log.error('cannot save positions, will retry', {
          ...fields,
          err: errText(err),
        });
      }
      lastFailure = reason;
    }
  };
  let saving: Promise<void> = Promise.resolve();
  const sync = () => (saving = saving.then(save));
  const timer = setInterval(
    () => void sync(),
    settings.syncIntervalSeconds * 1000,
  );
  timer.unref();
  return {
    sync,
    stop: () => {
      clearInterval(timer);
      return sync();
    },
  };
}

/** The routes that accept writes, each only when asked for. */
function mountOptionalRoutes(
  app: Express,
  options: ExporterOptions,
  recorder: Recorder,
  store: MetricStore,
  log: Logger,
): void {
  const { config } = options;
  if (config.remediation.enabled) {
    app.use(remediationRouter({ config: config.remediation, store, log }));
  }
  if (!options.enableIngest) return;
  app.use(
    ingestRouter({
      recorder,
      store,
      log: log.child('push'),
      maxLineBytes: config.tail.maxLineBytes,
    }),
  );
  // KServe's logger posts CloudEvents; the model is the inference service.
  const defaults = { ...defaultSource([]).defaults, model: 'unknown' };
  app.use(kserveRouter((result) => recorder.line(result), { defaults }));
}

function startSource(
  source: SourceConfig,
  config: Config,
  store: MetricStore,
  recorder: Recorder,
  log: Logger,
  onBadLine: (line: TailedLine, result: LineResult & { ok: false }) => void,
  initialPositions: FilePosition[],
  restarted: boolean,
): Tailer {
  const parser = createParser(source.format, parserOptions(source));
  return new Tailer(
    {
      paths: source.paths,
      // After a restart, a file missing from the positions appeared while the
      // exporter was down: it is read whole, or its lines would be lost.
      fromBeginning: source.fromBeginning || restarted,
      pollIntervalMillis: config.tail.pollIntervalMillis,
      maxLineBytes: config.tail.maxLineBytes,
      log: log.child('tail'),
      store,
      initialPositions,
    },
    (batch) => {
      const now = Date.now();
      for (const line of batch) {
        const result: LineResult = line.tooLong
          ? { ok: false, skipped: false, reason: 'too_long' }
          : parser.parse(line.text, now);
        recorder.line(result);
        if (!result.ok) onBadLine(line, result);
      }
    },
  );
}

/**
 * Host counters mirror the operating system's own totals, which restart
 * with the host, so only the counters made from input lines are saved.
 */
function isPersisted(name: string): boolean {
  return !name.startsWith('inference_host_');
}

function registerBuildInfo(store: MetricStore): void {
  store
    .gauge(defs.exporter.buildInfo)
    .labels(VERSION, process.versions.node)
    .set(1);
  store
    .gauge(defs.exporter.startTime)
    .labels()
    .set(Math.floor(Date.now() / 1000));
}
