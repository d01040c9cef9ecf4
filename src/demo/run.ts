/**
 * `inference-exporter demo`: starts the demo model server as a child
 * process writing JSON Lines, and points the exporter at its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { defaultSource } from '../config/schema.js';
import type { Logger } from '../log.js';

export interface DemoFlags {
  'demo.speedup': string;
  'demo.data'?: string;
  'demo.dir': string;
}

export interface RunningDemo {
  logFile: string;
  stop(): Promise<void>;
}

/** Starts the model server and adds its log as a source of `config`. */
export async function startDemo(
  flags: DemoFlags,
  config: Config,
  log: Logger,
): Promise<RunningDemo> {
  const speedup = Number(flags['demo.speedup']);
  if (!Number.isFinite(speedup) || speedup < 0) {
    throw new Error(
      `--demo.speedup: must be a number >= 0, got "${flags['demo.speedup']}"`,
    );
  }
  const dir = resolve(flags['demo.dir']);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'model-server.jsonl');
  // The log exists before the exporter looks for it, so start-up is quiet.
  closeSync(openSync(logFile, 'a'));

  const source = defaultSource([logFile]);
  source.fromBeginning = true;
  config.sources.push(source);
  if (!config.positions.file)
    config.positions.file = join(dir, 'positions.json');

  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const args = [
    main,
    `--output=${logFile}`,
    `--speedup=${speedup}`,
    '--clock=now',
    '--loop',
    '--no-progress',
  ];
  if (flags['demo.data']) args.push(`--data=${resolve(flags['demo.data'])}`);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  log.info('demo model server started', {
    component: 'demo',
    pid: child.pid,
    log_file: logFile,
    speedup,
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) {
      log.error('demo model server exited', {
        component: 'demo',
        code: code ?? undefined,
      });
    }
  });
  return { logFile, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve();
  return new Promise((resolvePromise) => {
    child.once('exit', () => resolvePromise());
    child.kill('SIGTERM');
  });
}
