import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
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

/** The address from the demo's listening log line, once it is there. */
async function listeningAddress(io: { err: string[] }): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = /msg="health endpoint listening" address=(\S+)/.exec(
      io.err.join(''),
    );
    if (m) return m[1]!;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no listening line in:\n${io.err.join('')}`);
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
      listenAddress: undefined,
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
      '--web.listen-address=:8080',
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
      listenAddress: { host: '', port: 8080 },
    });
    expect(
      parseDemoArgs(['--output=o', '--web.listen-address=[::1]:0'])
        .listenAddress,
    ).toEqual({ host: '::1', port: 0 });
  });

  it.each([
    ['--speedup=fast', '--speedup must be a number >= 0, got "fast"'],
    ['--speedup=', '--speedup must be a number >= 0, got ""'],
    ['--k=0', '--k must be a whole number >= 1, got "0"'],
    ['--limit=1.5', '--limit must be a whole number >= 1, got "1.5"'],
    ['--clock=utc', '--clock must be now or source, got "utc"'],
    ['--colour', "Unknown option '--colour'"],
    ['--web.listen-address=8080', '--web.listen-address: expected [host]:port'],
    ['--web.listen-address=:70000', 'got ":70000"'],
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

  it('answers /health on 127.0.0.1:0 with the counts of the lines it wrote, and stops with the replay', async () => {
    const io = capture();
    const stop = new AbortController();
    const output = join(dir, 'server.jsonl');
    // At speedup 1 the two minutes to the second invoice become the
    // 5 s longest wait: the first invoice stands still long enough to look.
    const argv = [
      `--output=${output}`,
      '--speedup=1',
      '--clock=source',
      '--no-progress',
      '--web.listen-address=127.0.0.1:0',
    ];
    const running = main(argv, { ...io, signal: stop.signal });
    try {
      const address = await listeningAddress(io);
      expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
      const url = `http://${address}`;
      let health = await (await fetch(`${url}/health`)).json();
      for (let i = 0; i < 50 && health.invoices_served < 1; i++) {
        await new Promise((r) => setTimeout(r, 20));
        health = await (await fetch(`${url}/health`)).json();
      }

      const written = (await readFile(output, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const lists = written.filter((e) => e.type === 'inference');
      expect(lists.map((e) => e.request_id)).toEqual(['req-536365']);
      expect(health).toEqual({
        status: 'ok',
        invoices_served: 1,
        lists_served: lists.filter((e) => e.status === 'ok').length,
        last_invoice_time: lists[0].time,
        lap: 1,
      });
      // The CSV says 2010-12-01T08:26 for invoice 536365.
      expect(health.last_invoice_time).toMatch(/^2010-12-01T\d\d:26:00\.000Z$/);

      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(404);
      const post = await fetch(`${url}/health`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
    } finally {
      stop.abort();
    }
    expect(await running).toBe(0);
    await expect(
      fetch(`http://${await listeningAddress(io)}/health`),
    ).rejects.toThrow();
  });

  it('exits 1 naming an address it cannot listen on', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const io = capture();
      const argv = [
        `--output=${join(dir, 'o.jsonl')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--limit=1',
      ];
      expect(await main(argv, io)).toBe(1);
      expect(io.err.join('')).toContain(
        `cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
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
