/**
 * Faults while running, each reported in the log and in
 * `inference_log_errors_total{operation}`, and ingestion recovering when the
 * fault ends.
 *
 * CI runs as root, for whom file modes block nothing. So each fault is made
 * in a way that also stops root, or the CLI is run as the unprivileged user
 * `nobody` (as whoever runs the tests, when that is not root):
 * - an unwritable positions directory: its path made a regular file
 *   (ENOTDIR for anyone), and, as `nobody`, a directory with mode 0555;
 * - an unreadable log file: as `nobody`, a rotated-in file with mode 0000;
 *   for root, the log path replaced by a directory;
 * - a full disk: a soft file-size limit (RLIMIT_FSIZE, set with prlimit),
 *   which binds root too and fails the save with EFBIG; it is raised again
 *   at run time (raising a hard limit would need CAP_SYS_RESOURCE).
 * `/dev/full` is no way to fill the disk for the positions file: saves go
 * to a temp file renamed over the path, and the exporter refuses to rename
 * over anything that is not a regular file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  appendFile,
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig, defaultSource } from '../../src/config/schema.js';
import type { Config } from '../../src/config/schema.js';
import { startExporter } from '../../src/exporter.js';
import type { RunningExporter } from '../../src/exporter.js';
import { createLogger } from '../../src/log.js';
import { CLI, scrape, sum, waitFor } from '../e2e/helpers.js';

const NOBODY = 65534;
/** Root runs the CLI as nobody, so that file modes apply to it. */
const RUN_AS = process.getuid?.() === 0 ? NOBODY : undefined;

/**
 * Whether the user the CLI runs as can reach the built CLI at all: a
 * checkout under a private folder (mode 0700, as mktemp makes) hides it
 * from nobody, and then the permission cases cannot run there.
 */
const CLI_REACHABLE =
  RUN_AS === undefined ||
  spawnSync(
    process.execPath,
    ['-e', `require('node:fs').accessSync(${JSON.stringify(CLI)})`],
    { uid: RUN_AS, gid: RUN_AS },
  ).status === 0;

let dir: string;
let exporter: RunningExporter | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ie-faults-'));
});

afterEach(async () => {
  await exporter?.stop();
  exporter = undefined;
  await rm(dir, { recursive: true, force: true });
});

let serial = 0;

/** `count` numbered inference lines. */
function lines(count: number): string {
  let text = '';
  for (let i = 0; i < count; i++) {
    const n = ++serial;
    text += `{"type":"inference","request_id":"req-${n}","model":"two-tower","items":["sku-1"]}\n`;
  }
  return text;
}

function config(logPath: string, positionsFile: string): Config {
  const c = defaultConfig();
  const source = defaultSource([logPath]);
  source.fromBeginning = true;
  c.sources.push(source);
  c.positions = { file: positionsFile, syncIntervalSeconds: 0.05 };
  c.tail.pollIntervalMillis = 10;
  c.host.enabled = false;
  return c;
}

async function start(c: Config, logs: string[]): Promise<RunningExporter> {
  exporter = await startExporter({
    config: c,
    listen: { host: '127.0.0.1', port: 0 },
    telemetryPath: '/metrics',
    log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
  });
  return exporter;
}

function metric(
  e: RunningExporter,
  name: string,
  match: Record<string, string> = {},
) {
  e.store.collect();
  return sum(e.store.render('prometheus'), name, match);
}

/** Resolves once `value()` has not changed for `quietMillis`. */
async function steady(
  value: () => number,
  quietMillis: number,
): Promise<number> {
  let last = value();
  let since = Date.now();
  await waitFor(
    async () => {
      const now = value();
      if (now !== last) [last, since] = [now, Date.now()];
      return Date.now() - since >= quietMillis;
    },
    10_000,
    'a steady value',
  );
  return last;
}

describe('an unusable positions directory (ENOTDIR, root-proof)', () => {
  it('is counted and logged once while ingestion goes on, and saving resumes when it is back', async () => {
    const log = join(dir, 'model-server.log');
    const state = join(dir, 'state');
    await writeFile(log, lines(100));
    await writeFile(state, 'a file where the directory should be');
    const logs: string[] = [];
    const e = await start(config(log, join(state, 'positions.json')), logs);
    const failures = () =>
      metric(e, 'inference_log_errors_total', { operation: 'positions_write' });

    await waitFor(async () => failures() >= 3, 10_000, 'failed saves');
    await appendFile(log, lines(50));
    await waitFor(
      async () => metric(e, 'inference_log_lines_total') === 150,
      10_000,
      '150 lines',
    );
    const errorsLogged = logs.filter((l) =>
      l.includes('cannot save positions'),
    );
    expect(errorsLogged).toHaveLength(1);
    expect(errorsLogged[0]).toMatch(/level=error .*ENOTDIR/);

    await rm(state);
    await mkdir(state);
    const failed = await steady(failures, 300);
    const saved = JSON.parse(
      await readFile(join(state, 'positions.json'), 'utf8'),
    );
    expect(saved.files[0].offset).toBe((await readFile(log)).length);
    expect(failed).toBeGreaterThanOrEqual(3);
    expect(logs.some((l) => l.includes('positions saved again'))).toBe(true);
  });
});

describe('a log file deleted during a rotation', () => {
  it('is read to its end from the open descriptor, and its successor from its start', async () => {
    const log = join(dir, 'model-server.log');
    await writeFile(log, lines(100));
    const logs: string[] = [];
    const e = await start(config(log, join(dir, 'positions.json')), logs);
    await waitFor(async () => metric(e, 'inference_log_lines_total') === 100);

    // Renamed, written to through the old descriptor, then deleted.
    await rename(log, `${log}.1`);
    await appendFile(`${log}.1`, lines(40));
    await unlink(`${log}.1`);
    await writeFile(log, lines(60));

    await waitFor(
      async () => metric(e, 'inference_log_lines_total') === 200,
      10_000,
      '200 lines',
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(metric(e, 'inference_log_lines_total')).toBe(200);
    expect(metric(e, 'inference_log_errors_total')).toBe(0);
    expect(metric(e, 'inference_log_rotations_total', { kind: 'rename' })).toBe(
      1,
    );
  });

  it('is reported when the path turns into a directory, and read again once it is a file', async () => {
    const log = join(dir, 'model-server.log');
    await writeFile(log, lines(10));
    const logs: string[] = [];
    const e = await start(config(log, join(dir, 'positions.json')), logs);
    await waitFor(async () => metric(e, 'inference_log_lines_total') === 10);

    await rm(log);
    await mkdir(log);
    const statErrors = () =>
      metric(e, 'inference_log_errors_total', { operation: 'stat' });
    await waitFor(async () => statErrors() >= 3, 10_000, 'stat errors');
    expect(logs.filter((l) => l.includes('cannot stat log file'))).toHaveLength(
      1,
    );

    await rm(log, { recursive: true });
    await writeFile(log, lines(25));
    await waitFor(
      async () => metric(e, 'inference_log_lines_total') === 35,
      10_000,
      '35 lines',
    );
    expect(logs.some((l) => l.includes('log file usable again'))).toBe(true);
  });
});

/** Starts the built CLI as it is run by `spawn`, waiting for its port. */
async function startChild(command: string, args: string[], uid?: number) {
  const child = spawn(command, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(uid === undefined ? {} : { uid, gid: uid }),
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(
    async () => /msg=listening/.test(stderr) || child.exitCode !== null,
    20_000,
    'the CLI',
  );
  const port = Number(/address=127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
  if (!port) throw new Error(`CLI did not start:\n${stderr}`);
  const metricValue = async (
    name: string,
    match: Record<string, string> = {},
  ) => sum((await scrape(port)).text, name, match);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(child.pid!, 'SIGTERM');
    });
  return { child, port, stderr: () => stderr, metricValue, stop };
}

function cliArgs(log: string, positionsFile: string): string[] {
  return [
    CLI,
    '--web.listen-address=127.0.0.1:0',
    `--source.path=${log}`,
    '--tail.from-beginning',
    `--positions.file=${positionsFile}`,
    '--no-collector.host',
  ];
}

describe('a full disk, as a file-size limit (EFBIG, root-proof)', () => {
  it('fails saves, counted and logged, until the limit is raised', async () => {
    if (!existsSync(CLI))
      throw new Error(`build first (npx tsc -p .): ${CLI} is missing`);
    const log = join(dir, 'model-server.log');
    const positionsFile = join(dir, 'positions.json');
    await writeFile(log, lines(500));
    // A soft limit of 1 KiB: too small for the saved counters. The hard
    // limit stays open so that it can be raised again without privileges.
    const cli = await startChild('prlimit', [
      '--fsize=1024:unlimited',
      process.execPath,
      ...cliArgs(log, positionsFile),
    ]);
    try {
      await waitFor(
        async () =>
          (await cli.metricValue('inference_log_errors_total', {
            operation: 'positions_write',
          })) >= 2,
        15_000,
        'failed saves',
      );
      expect(cli.stderr()).toMatch(
        /level=error .*cannot save positions.*EFBIG/,
      );
      expect(existsSync(positionsFile)).toBe(false);
      expect(await cli.metricValue('inference_log_lines_total')).toBe(500);

      const raised = spawnSync('prlimit', [
        `--pid=${cli.child.pid}`,
        '--fsize=unlimited:unlimited',
      ]);
      expect(raised.status).toBe(0);
      await waitFor(
        async () => existsSync(positionsFile),
        15_000,
        'a saved positions file',
      );
      const saved = JSON.parse(await readFile(positionsFile, 'utf8'));
      expect(saved.files[0].offset).toBe((await readFile(log)).length);
      await waitFor(
        async () => /positions saved again/.test(cli.stderr()),
        5000,
        'the recovery log line',
      );
    } finally {
      await cli.stop();
    }
  });
});

describe.skipIf(!CLI_REACHABLE)(
  'permissions, with the exporter run as nobody (skipped where nobody cannot reach the checkout)',
  () => {
    it('reports an unreadable rotated-in log and an unwritable positions directory, and recovers from both', async () => {
      if (!existsSync(CLI))
        throw new Error(`build first (npx tsc -p .): ${CLI} is missing`);
      await chmod(dir, 0o755);
      const logs = join(dir, 'logs');
      const state = join(dir, 'state');
      await mkdir(logs);
      await mkdir(state);
      if (RUN_AS !== undefined) await chown(state, RUN_AS, RUN_AS);
      const log = join(logs, 'model-server.log');
      await writeFile(log, lines(100), { mode: 0o644 });

      const cli = await startChild(
        process.execPath,
        cliArgs(log, join(state, 'positions.json')),
        RUN_AS,
      );
      try {
        const errors = (operation: string) =>
          cli.metricValue('inference_log_errors_total', { operation });
        await waitFor(
          async () =>
            (await cli.metricValue('inference_log_lines_total')) === 100,
        );

        // Rotated: the new file is unreadable to the exporter.
        await rename(log, `${log}.1`);
        await writeFile(log, lines(30), { mode: 0o000 });
        await chmod(log, 0o000);
        await waitFor(
          async () => (await errors('open')) >= 2,
          10_000,
          'open errors',
        );
        expect(cli.stderr()).toMatch(
          /cannot open log file, will retry.*EACCES/,
        );
        await chmod(log, 0o644);
        await waitFor(
          async () =>
            (await cli.metricValue('inference_log_lines_total')) === 130,
          10_000,
          '130 lines',
        );

        // The state directory is the exporter's; without write permission
        // saves fail.
        await chmod(state, 0o555);
        await waitFor(
          async () => (await errors('positions_write')) >= 2,
          10_000,
          'failed saves',
        );
        expect(cli.stderr()).toMatch(/cannot save positions.*EACCES/);
        await chmod(state, 0o755);
        await waitFor(
          async () => /positions saved again/.test(cli.stderr()),
          10_000,
          'saving again',
        );
      } finally {
        await cli.stop();
      }
    });
  },
);
