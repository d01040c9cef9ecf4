/**
 * The demo model server as a command: replays the shipped shop data as
 * recommendation traffic into a JSON Lines log for the exporter to tail,
 * and with --web.listen-address answers health probes on /health.
 *
 *   node dist/src/demo/main.js --output=PATH [--data=CSV] [--speedup=N]
 *     [--clock=now|source] [--loop] [--k=N] [--limit=N] [--no-progress]
 *     [--web.listen-address=HOST:PORT]
 *
 * Importing this module only defines things; it runs when it is the
 * program's entry point.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { Writable } from 'node:stream';

import { createLogger, errText, type Logger } from '../log.js';
import { parseListenAddress, type ListenAddress } from '../server/listen.js';
import {
  ServingTracker,
  startHealthServer,
  trackedFileOutput,
  type HealthServer,
} from './http.js';
import type { ProgressOutput } from './progress.js';
import { runReplay, type ReplayClock } from './replay.js';

/** The shipped data slice, relative to the package root. */
export const BUNDLED_DATA = 'data/online-retail/online-retail-sample.csv';

const USAGE = `usage: node dist/src/demo/main.js --output=PATH [flags]

Replays real shop invoices as recommendation traffic: one inference line per
arriving customer, then one purchase line per product bought.

Flags:
  --output=PATH         JSON Lines log to append to (directories are created)
  --data=CSV            shop data (default: the bundled Online Retail slice)
  --speedup=3600        data seconds per real second; 0 = as fast as possible
  --clock=now           times on lines: now (wall clock) or source (the data's)
  --loop                start over at the end, keeping what the models learned
  --k=10                items per recommendation list
  --limit=N             stop after N invoices
  --no-progress         no progress line on stderr
  --web.listen-address=HOST:PORT
                        answer GET /health with what was served so far
                        (default: off; ":8080" listens on every interface)
  --help                print this and exit
`;

/** A command line that cannot be run; the CLI exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What the command line asks for. */
export interface DemoCommand {
  output: string;
  dataPath: string;
  speedup: number;
  clock: ReplayClock;
  loop: boolean;
  k: number;
  limit: number | undefined;
  progress: boolean;
  /** Where /health listens; undefined serves no HTTP. */
  listenAddress: ListenAddress | undefined;
  help: boolean;
}

/** The nearest directory at or above the module holding a package.json. */
export function packageRoot(moduleUrl: string = import.meta.url): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`no package.json found above ${start}; pass --data`);
    }
  }
}

/** The bundled data slice, found from this module in src/ or dist/src/. */
export function defaultDataPath(moduleUrl: string = import.meta.url): string {
  return join(packageRoot(moduleUrl), BUNDLED_DATA);
}

function numberFlag(
  name: string,
  text: string | undefined,
  rule: { whole: boolean; min: number },
): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\s*$/.test(text) ? NaN : Number(text);
  const fits = rule.whole ? Number.isInteger(value) : Number.isFinite(value);
  if (!fits || value < rule.min) {
    const kind = rule.whole ? 'a whole number' : 'a number';
    throw new UsageError(
      `--${name} must be ${kind} >= ${rule.min}, got "${text}"`,
    );
  }
  return value;
}

const ANY_RATE = { whole: false, min: 0 };
const COUNT = { whole: true, min: 1 };

const FLAGS = {
  output: { type: 'string' },
  data: { type: 'string' },
  speedup: { type: 'string' },
  clock: { type: 'string' },
  loop: { type: 'boolean', default: false },
  k: { type: 'string' },
  limit: { type: 'string' },
  'no-progress': { type: 'boolean', default: false },
  'web.listen-address': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

function readFlags(argv: string[]): ReturnType<typeof parseFlags>['values'] {
  try {
    return parseFlags(argv).values;
  } catch (err) {
    throw new UsageError(errText(err));
  }
}

function parseFlags(argv: string[]) {
  return parseArgs({ args: argv, options: FLAGS, strict: true });
}

function listenFlag(text: string | undefined): ListenAddress | undefined {
  if (text === undefined) return undefined;
  try {
    return parseListenAddress(text);
  } catch (err) {
    throw new UsageError(errText(err));
  }
}

/** Reads the command line; throws `UsageError` naming a bad flag. */
export function parseDemoArgs(
  argv: string[],
  moduleUrl: string = import.meta.url,
): DemoCommand {
  const flags = readFlags(argv);
  const clock = flags.clock ?? 'now';
  if (clock !== 'now' && clock !== 'source') {
    throw new UsageError(`--clock must be now or source, got "${clock}"`);
  }
  if (!flags.help && !flags.output) {
    throw new UsageError('--output=PATH is required');
  }
  return {
    output: flags.output ?? '',
    dataPath: flags.data ?? defaultDataPath(moduleUrl),
    speedup: numberFlag('speedup', flags.speedup, ANY_RATE) ?? 3600,
    clock,
    loop: flags.loop,
    k: numberFlag('k', flags.k, COUNT) ?? 10,
    limit: numberFlag('limit', flags.limit, COUNT),
    progress: !flags['no-progress'],
    listenAddress: listenFlag(flags['web.listen-address']),
    help: flags.help,
  };
}

/** Where the command writes its own text; the process streams by default. */
export interface CommandIo {
  stdout: (text: string) => void;
  /** Log lines and usage errors. */
  stderr: (text: string) => void;
  /** The progress line. */
  progress: ProgressOutput;
  /** Stops the replay; as a program, SIGINT and SIGTERM do. */
  signal?: AbortSignal;
}

const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  progress: process.stderr,
};

/** The health endpoint and the log output it watches. */
interface Health {
  server: HealthServer;
  output: Writable;
}

/** Opens the watched output and binds /health; undefined when not asked. */
async function startHealth(
  command: DemoCommand,
  log: Logger,
): Promise<Health | undefined> {
  if (!command.listenAddress) return undefined;
  const tracker = new ServingTracker();
  const output = await trackedFileOutput(command.output, tracker);
  try {
    const server = await startHealthServer(command.listenAddress, tracker);
    log.info('health endpoint listening', {
      address: server.address,
      path: '/health',
    });
    return { server, output };
  } catch (err) {
    output.end();
    throw err;
  }
}

async function stopHealth(health: Health | undefined): Promise<void> {
  if (!health) return;
  await health.server.close();
  await new Promise<void>((resolve) => health.output.end(resolve));
}

async function replay(command: DemoCommand, io: CommandIo): Promise<number> {
  const write = (line: string): void => io.stderr(`${line}\n`);
  const log = createLogger({ write }, 'demo');
  log.info('demo model server replaying shop data', {
    file: command.dataPath,
    output: command.output,
    speedup: command.speedup,
    clock: command.clock,
    loop: command.loop,
    k: command.k,
  });
  let health: Health | undefined;
  try {
    health = await startHealth(command, log);
    const summary = await runReplay({
      dataPath: command.dataPath,
      output: health?.output ?? command.output,
      speedup: command.speedup,
      clock: command.clock,
      loop: command.loop,
      k: command.k,
      limit: command.limit,
      progress: command.progress,
      progressOutput: io.progress,
      signal: io.signal,
    });
    log.info('replay ended', { ...summary });
    return 0;
  } catch (err) {
    log.error('replay failed', { err: errText(err) });
    return 1;
  } finally {
    await stopHealth(health);
  }
}

/** Runs the command; resolves to the process exit status. */
export async function main(
  argv: string[],
  io: CommandIo = processIo,
): Promise<number> {
  let command: DemoCommand;
  try {
    command = parseDemoArgs(argv);
  } catch (err) {
    io.stderr(`demo: ${errText(err)}\n\n${USAGE}`);
    return 2;
  }
  if (command.help) {
    io.stdout(USAGE);
    return 0;
  }
  return replay(command, io);
}

/** True when `moduleUrl` is the file node was started with. */
export function isEntryPoint(
  moduleUrl: string,
  scriptPath: string | undefined = process.argv[1],
): boolean {
  if (!scriptPath) return false;
  try {
    return realpathSync(scriptPath) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs `main` with SIGINT and SIGTERM ending the replay cleanly. */
export async function runAsProgram(): Promise<void> {
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const argv = process.argv.slice(2);
  process.exitCode = await main(argv, { ...processIo, signal: stop.signal });
  process.off('SIGINT', abort);
  process.off('SIGTERM', abort);
}

if (isEntryPoint(import.meta.url)) await runAsProgram();
