/**
 * How the positions file survives a crash: each save writes a temp file,
 * syncs it, renames it over the old one and syncs the directory, so a
 * crash at any point leaves the old state or the new one; temp files of
 * an interrupted save are removed at the next start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { PositionsFile } from '../../src/sources/positions.js';
import type { PositionsState } from '../../src/sources/positions.js';
import { CLI } from '../e2e/helpers.js';

/** File-system calls of a save, in order, while `recording` is on. */
const calls: string[] = [];
let recording = false;

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const note = (call: string) => {
    if (recording) calls.push(call);
  };
  const name = (path: unknown) =>
    basename(String(path)).replace(/\.\d+\.\d+\.tmp$/, '.tmp');
  return {
    ...real,
    open: async (path: string, flags?: string, mode?: number) => {
      const handle = await real.open(path, flags, mode);
      const file = name(path);
      note(`open ${file} ${flags ?? 'r'}`);
      return new Proxy(handle, {
        get(target, key) {
          const value = Reflect.get(target, key) as unknown;
          if (typeof value !== 'function') return value;
          if (
            !['writeFile', 'write', 'sync', 'datasync', 'close'].includes(
              String(key),
            )
          ) {
            return value.bind(target);
          }
          return (...args: unknown[]) => {
            note(`${String(key)} ${file}`);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    },
    rename: async (from: string, to: string) => {
      note(`rename ${name(from)} ${name(to)}`);
      return real.rename(from, to);
    },
  };
});

const quiet = createLogger({ level: 'error', write: () => {} });

function state(offset: number): PositionsState {
  return {
    version: 1,
    files: [
      {
        path: '/var/log/model-server.log',
        dev: 1,
        ino: 2,
        offset,
        line: offset,
      },
    ],
    extra: { counters: { counters: {}, histograms: {} } },
  };
}

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'ie-positions-'));
  calls.length = 0;
});

afterEach(async () => {
  recording = false;
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('positions file saves', () => {
  it('write the temp file, fsync it, close it, rename it, then fsync the directory', async () => {
    const file = new PositionsFile(join(dir, 'positions.json'), quiet);
    await file.save(state(1));
    recording = true;
    await file.save(state(2));
    recording = false;

    const dirName = basename(dir);
    expect(calls).toEqual([
      'open .positions.json.tmp w',
      'writeFile .positions.json.tmp',
      'sync .positions.json.tmp',
      'close .positions.json.tmp',
      'rename .positions.json.tmp positions.json',
      `open ${dirName} r`,
      `sync ${dirName}`,
      `close ${dirName}`,
    ]);
    expect(await file.load()).toEqual(state(2));
  });

  it('load the last whole state after a crash before the rename, and remove the temp files', async () => {
    const path = join(dir, 'positions.json');
    await new PositionsFile(path, quiet).save(state(100));
    // A save cut short mid-write, and one written whole but not renamed.
    await fsp.writeFile(
      join(dir, '.positions.json.4242.7.tmp'),
      '{"version":1,"fi',
    );
    await fsp.writeFile(
      join(dir, '.positions.json.4243.1.tmp'),
      JSON.stringify(state(200)),
    );
    await fsp.writeFile(join(dir, 'other.tmp'), 'not ours');

    const logs: string[] = [];
    const log = createLogger({ write: (line) => logs.push(line) });
    expect(await new PositionsFile(path, log).load()).toEqual(state(100));
    expect((await fsp.readdir(dir)).sort()).toEqual([
      'other.tmp',
      'positions.json',
    ]);
    expect(logs.join('\n')).toMatch(
      /removed temp files of an interrupted save.*count=2/,
    );
  });

  it('refuse to replace something that is not a regular file', async () => {
    const fifo = join(dir, 'positions.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const file = new PositionsFile(fifo, quiet);
    await expect(file.save(state(1))).rejects.toThrow(/not a regular file/);
    expect((await fsp.stat(fifo)).isFIFO()).toBe(true);
    expect(await fsp.readdir(dir)).toEqual(['positions.fifo']);

    await fsp.mkdir(join(dir, 'positions.json'));
    const onDir = new PositionsFile(join(dir, 'positions.json'), quiet);
    await expect(onDir.save(state(1))).rejects.toThrow(/not a regular file/);
  });

  it('leave the old or the new state, never a broken file, when killed at random while saving', async () => {
    if (!existsSync(CLI))
      throw new Error(`build first (npx tsc -p .): ${CLI} is missing`);
    const path = join(dir, 'positions.json');
    const module = new URL(
      '../../dist/src/sources/positions.js',
      import.meta.url,
    ).href;
    // Saves of about 1 MB each, numbered, as fast as they go.
    const script = `
      const { PositionsFile } = await import(${JSON.stringify(module)});
      const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
      const file = new PositionsFile(${JSON.stringify(path)}, log);
      const padding = 'x'.repeat(1 << 20);
      for (let n = 1; ; n++) {
        await file.save({ version: 1, files: [{ path: 'a', dev: 1, ino: 2, offset: n }], extra: { padding } });
        if (n === 1) process.stdout.write('saved\\n');
      }`;
    const seen = new Set<number>();
    let strayTemps = 0;
    for (let round = 0; round < 8; round++) {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', script],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise((resolve) => child.stdout.once('data', resolve));
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid!, 'SIGKILL');
      await exited;

      const names = await fsp.readdir(dir);
      strayTemps += names.filter((n) => n.endsWith('.tmp')).length;
      const loaded = await new PositionsFile(path, quiet).load();
      expect(loaded?.files[0]?.offset).toBeGreaterThanOrEqual(1);
      seen.add(loaded!.files[0]!.offset);
      expect(
        (await fsp.readdir(dir)).filter((n) => n.endsWith('.tmp')),
      ).toEqual([]);
    }
    expect(seen.size).toBeGreaterThan(1);
    console.info(
      `killed mid-save: 8 rounds, ${strayTemps} interrupted temp files removed`,
    );
  });
});
