#!/usr/bin/env node
/**
 * Command line: flags in the Prometheus exporter style, and wiring only.
 *
 *   inference-exporter [flags]         run the exporter
 *   inference-exporter demo [flags]    replay the bundled shop data and export it
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from './config/load.js';
import { defaultConfig, defaultSource, type Config } from './config/schema.js';
import { startExporter } from './exporter.js';
import { createLogger, errText, type LogFormat, type LogLevel } from './log.js';
import { parseListenAddress } from './server/listen.js';
import { loadWebConfig } from './server/webconfig.js';
import { startDemo } from './demo/run.js';
import { VERSION } from './version.js';

/** Outside the fully allocated 9100-9999 exporter range. */
export const DEFAULT_PORT = 10464;

const FLAGS = {
  'web.listen-address': { type: 'string', default: `:${DEFAULT_PORT}` },
  'web.telemetry-path': { type: 'string', default: '/metrics' },
  'web.config.file': { type: 'string' },
  'web.audit-log.file': { type: 'string' },
  'web.enable-ingest': { type: 'boolean', default: false },
  'config.file': { type: 'string' },
  'source.path': { type: 'string', multiple: true },
  'tail.from-beginning': { type: 'boolean', default: false },
  'positions.file': { type: 'string' },
  'collector.host': { type: 'boolean' },
  'no-collector.host': { type: 'boolean' },
  'log.level': { type: 'string', default: 'info' },
  'log.format': { type: 'string', default: 'logfmt' },
  'demo.speedup': { type: 'string', default: '3600' },
  'demo.data': { type: 'string' },
  'demo.dir': { type: 'string', default: 'var/demo' },
  version: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const USAGE = `usage: inference-exporter [demo] [flags]

Turns model-server inference and feedback logs into Prometheus metrics.

Commands:
  (none)   run the exporter on the sources in --config.file or --source.path
  demo     start the demo model server on the bundled shop data, and export it

Flags:
  --web.listen-address=":${DEFAULT_PORT}"  address to serve metrics on
  --web.telemetry-path="/metrics"      path under which metrics are served
  --web.config.file=FILE               TLS, basic auth and headers (exporter-toolkit format)
  --web.audit-log.file=FILE            write the access audit log here instead of the main log
  --web.enable-ingest                  accept POST /ingest (events), /data (gauges) and /kserve (KServe logger)
  --config.file=FILE                   YAML configuration (sources, attribution, windows)
  --source.path=GLOB                   a JSON Lines log to tail; repeatable
  --tail.from-beginning                read files found at start from their beginning
  --positions.file=FILE                where offsets and counters are kept across restarts
  --[no-]collector.host                host CPU, memory and network metrics (default on)
  --log.level=info                     debug, info, warn or error
  --log.format=logfmt                  logfmt or json
  --demo.speedup=3600                  demo: data seconds replayed per real second
  --demo.data=CSV                      demo: the shop data (default: the bundled sample)
  --demo.dir=var/demo                  demo: where its log and positions file go
  --version                            print the version and exit
`;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: FLAGS,
    allowPositionals: true,
    strict: true,
  });
}

function oneOf<T extends string>(
  flag: string,
  value: string,
  allowed: readonly T[],
): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(
      `--${flag}: must be one of ${allowed.join(', ')}, got "${value}"`,
    );
  }
  return value as T;
}

/** The config file, or defaults, with the flags applied on top. */
function buildConfig(values: Values): Config {
  const config = values['config.file']
    ? loadConfigFile(values['config.file'])
    : defaultConfig();
  const paths = values['source.path'] ?? [];
  if (paths.length > 0) config.sources.push(defaultSource(paths));
  if (values['tail.from-beginning'])
    for (const s of config.sources) s.fromBeginning = true;
  if (values['positions.file'] !== undefined)
    config.positions.file = values['positions.file'];
  if (values['no-collector.host']) config.host.enabled = false;
  else if (values['collector.host']) config.host.enabled = true;
  return config;
}

export async function main(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (err) {
    process.stderr.write(`inference-exporter: ${errText(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) return (process.stdout.write(USAGE), 0);
  if (values.version)
    return (process.stdout.write(`inference-exporter ${VERSION}\n`), 0);

  const command = positionals[0];
  if (positionals.length > 1 || (command !== undefined && command !== 'demo')) {
    process.stderr.write(
      `inference-exporter: unknown command "${positionals.join(' ')}"\n\n${USAGE}`,
    );
    return 2;
  }

  try {
    const logFormat = oneOf('log.format', values['log.format'], [
      'logfmt',
      'json',
    ] as LogFormat[]);
    const log = createLogger({
      level: oneOf('log.level', values['log.level'], [
        'debug',
        'info',
        'warn',
        'error',
      ] as LogLevel[]),
      format: logFormat,
    });
    // A bad web config stops start-up before anything else begins.
    if (values['web.config.file']) loadWebConfig(values['web.config.file']);
    const config = buildConfig(values);
    const listen = parseListenAddress(values['web.listen-address']);
    const telemetryPath = values['web.telemetry-path'];
    if (!telemetryPath.startsWith('/'))
      throw new Error(
        `--web.telemetry-path: must start with "/", got "${telemetryPath}"`,
      );

    const demo =
      command === 'demo' ? await startDemo(values, config, log) : undefined;
    if (config.sources.length === 0) {
      log.warn(
        'no sources configured; serving host and exporter metrics only (see --source.path or --config.file)',
      );
    }
    log.info('starting inference-exporter', {
      version: VERSION,
      sources: config.sources.length,
      host_collector: config.host.enabled,
      positions: config.positions.file || 'off',
    });
    const exporter = await startExporter({
      config,
      listen,
      telemetryPath,
      log,
      logFormat,
      webConfigFile: values['web.config.file'],
      auditLogFile: values['web.audit-log.file'],
      enableIngest: values['web.enable-ingest'],
    }).catch(async (err: unknown) => {
      await demo?.stop();
      throw err;
    });
    await untilSignal(log);
    await demo?.stop();
    await exporter.stop();
    return 0;
  } catch (err) {
    const message =
      err instanceof ConfigError
        ? `config error: ${err.message}`
        : errText(err);
    process.stderr.write(`inference-exporter: ${message}\n`);
    return 1;
  }
}

function untilSignal(log: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** True when this file is the program, not an import (also via npm's bin link). */
function isMain(): boolean {
  try {
    return (
      realpathSync(process.argv[1] ?? '') === fileURLToPath(import.meta.url)
    );
  } catch {
    return false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
