import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  BUNDLED_DATA,
  defaultDataPath,
  isEntryPoint,
  main,
  packageRoot,
  parseDemoArgs,
  UsageError,
  type CommandIo,
} from '../../src/demo/main.js';
import { SLICE_PATH } from './retail-rows.js';

/** The package root, two folders above this file's own. */
const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

function capture(): CommandIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    progress: { isTTY: false, write: (text: string) => err.push(text) },
  };
}

describe('parseDemoArgs', () => {
  it('fills defaults, with the bundled slice as data', () => {
    expect(parseDemoArgs(['--output=/tmp/x.jsonl'])).toEqual({
      output: '/tmp/x.jsonl',
      dataPath: SLICE_PATH,
      speedup: 3600,
      clock: 'now',
      loop: false,
      k: 10,
      limit: undefined,
      progress: true,
      help: false,
    });
  });

  it('reads every flag', () => {
    const argv = [
      '--output=o.jsonl',
      '--data=d.csv',
      '--speedup=0.5',
      '--clock=source',
      '--loop',
      '--k=5',
      '--limit=20',
      '--no-progress',
    ];
    expect(parseDemoArgs(argv)).toMatchObject({
      output: 'o.jsonl',
      dataPath: 'd.csv',
      speedup: 0.5,
      clock: 'source',
      loop: true,
      k: 5,
      limit: 20,
      progress: false,
    });
  });

  it.each([
    ['--speedup=fast', '--speedup must be a number >= 0, got "fast"'],
    ['--speedup=', '--speedup must be a number >= 0, got ""'],
    ['--k=0', '--k must be a whole number >= 1, got "0"'],
    ['--limit=1.5', '--limit must be a whole number >= 1, got "1.5"'],
    ['--clock=utc', '--clock must be now or source, got "utc"'],
    ['--colour', "Unknown option '--colour'"],
  ])('rejects %s', (flag, message) => {
    const argv = ['--output=o', flag];
    expect(() => parseDemoArgs(argv)).toThrow(UsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });

  it('requires --output', () => {
    expect(() => parseDemoArgs(['--speedup=10'])).toThrow(
      '--output=PATH is required',
    );
  });
});

describe('finding the bundled data', () => {
  it('finds the package root from src/ and from dist/src/', () => {
    const fromSource = pathToFileURL(join(ROOT, 'src/demo/main.ts')).href;
    const fromBuild = pathToFileURL(join(ROOT, 'dist/src/demo/main.js')).href;
    expect(packageRoot(fromSource)).toBe(ROOT);
    expect(packageRoot(fromBuild)).toBe(ROOT);
    expect(defaultDataPath(fromBuild)).toBe(join(ROOT, BUNDLED_DATA));
    expect(existsSync(defaultDataPath())).toBe(true);
  });

  it('is not the entry point when imported', () => {
    const self = pathToFileURL(join(ROOT, 'src/demo/main.ts')).href;
    expect(isEntryPoint(self)).toBe(false);
    expect(isEntryPoint(self, join(ROOT, 'src/demo/main.ts'))).toBe(true);
    expect(isEntryPoint(self, undefined)).toBe(false);
  });
});

describe('main', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'demo-main-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replays the bundled slice into the output file', async () => {
    const io = capture();
    const output = join(dir, 'server.jsonl');
    const argv = [
      `--output=${output}`,
      '--speedup=0',
      '--clock=source',
      '--limit=3',
      '--no-progress',
    ];
    expect(await main(argv, io)).toBe(0);

    const lines = (await readFile(output, 'utf8')).trim().split('\n');
    const requests = lines
      .map((line) => JSON.parse(line) as { request_id?: string })
      .flatMap((e) => (e.request_id ? [e.request_id] : []));
    expect(requests).toEqual(['req-536365', 'req-536366', 'req-536367']);
    expect(io.err.join('')).toContain('msg="replay ended" invoices=3');
    expect(io.err.join('')).not.toContain('replay [');
  });

  it('exits 1 naming a data file it cannot read', async () => {
    const io = capture();
    const missing = join(dir, 'missing.csv');
    const argv = [`--output=${join(dir, 'o.jsonl')}`, `--data=${missing}`];
    const code = await main(argv, io);
    expect(code).toBe(1);
    expect(io.err.join('')).toContain(`cannot read shop data file ${missing}`);
  });

  it('exits 2 with usage on a bad flag, 0 with usage on --help', async () => {
    const bad = capture();
    expect(await main(['--k=none', '--output=o'], bad)).toBe(2);
    expect(bad.err.join('')).toMatch(
      /^demo: --k must be a whole number >= 1, got "none"\n\nusage: /,
    );
    const help = capture();
    expect(await main(['--help'], help)).toBe(0);
    expect(help.out.join('')).toContain('--no-progress');
  });
});
