import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';
import { parsePositions, PositionsFile } from '../../src/sources/positions.js';
import type { PositionsState } from '../../src/sources/positions.js';

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ write: (line) => lines.push(line) }), lines };
}

const state: PositionsState = {
  version: 1,
  files: [
    { path: '/var/log/app.log', dev: 2049, ino: 1234, offset: 5000, line: 42 },
    { path: '/var/log/app.log', dev: 2049, ino: 999, offset: 17 },
  ],
  extra: { counters: { inference_requests_total: [[['m'], 3]] } },
};

describe('PositionsFile', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'positions-test-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves and loads the same state, leaving no temp file', async () => {
    const { log } = capturingLogger();
    const file = new PositionsFile(join(dir, 'positions.json'), log);
    await file.save({ ...state, files: [] });
    await file.save(state);

    expect(await file.load()).toEqual(state);
    expect(await readdir(dir)).toEqual(['positions.json']);
  });

  it('keeps the order of overlapping saves', async () => {
    const { log } = capturingLogger();
    const file = new PositionsFile(join(dir, 'positions.json'), log);
    const saves = [1, 2, 3].map((offset) =>
      file.save({
        version: 1,
        files: [{ path: 'a', dev: 1, ino: 2, offset }],
      }),
    );
    await Promise.all(saves);

    expect((await file.load())?.files[0]?.offset).toBe(3);
  });

  it('treats a missing file as a first start, without an error', async () => {
    const { log, lines } = capturingLogger();
    const file = new PositionsFile(join(dir, 'positions.json'), log);

    expect(await file.load()).toBeUndefined();
    expect(lines.some((line) => line.includes('level=error'))).toBe(false);
  });

  it('logs a corrupt file by name and starts fresh', async () => {
    const path = join(dir, 'positions.json');
    await writeFile(path, '{"version":1,"files":[{"path":"a","dev":1');
    const { log, lines } = capturingLogger();

    expect(await new PositionsFile(path, log).load()).toBeUndefined();
    const errors = lines.filter((line) => line.includes('level=error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(path);
    expect(errors[0]).toContain('corrupt');
  });

  it('logs an unreadable file (a directory) by name and starts fresh', async () => {
    const { log, lines } = capturingLogger();

    expect(await new PositionsFile(dir, log).load()).toBeUndefined();
    expect(lines.filter((l) => l.includes('level=error'))).toHaveLength(1);
    expect(lines[0]).toContain(dir);
  });

  it('throws a clear error when the directory is not writable', async () => {
    const { log } = capturingLogger();
    const path = join(dir, 'no-such-dir', 'positions.json');
    const file = new PositionsFile(path, log);

    await expect(file.save(state)).rejects.toThrow(
      `cannot save positions file ${path}`,
    );
    // A failed save does not block later ones.
    const good = new PositionsFile(join(dir, 'ok.json'), log);
    await good.save(state);
    expect(JSON.parse(await readFile(join(dir, 'ok.json'), 'utf8'))).toEqual(
      state,
    );
  });
});

describe('parsePositions', () => {
  it('names what is wrong', () => {
    expect(parsePositions('[]')).toBe('unsupported version undefined');
    expect(parsePositions('{"version":2,"files":[]}')).toBe(
      'unsupported version 2',
    );
    expect(parsePositions('{"version":1}')).toBe('"files" is not a list');
    expect(
      parsePositions('{"version":1,"files":[{"path":"a","dev":1,"ino":2}]}'),
    ).toBe('files[0] is not a valid file position');
    expect(
      parsePositions(
        '{"version":1,"files":[{"path":"a","dev":1,"ino":2,"offset":-1}]}',
      ),
    ).toBe('files[0] is not a valid file position');
    expect(parsePositions('nope')).toMatch(/^not valid JSON/);
  });

  it('accepts a file without line numbers or extra', () => {
    expect(
      parsePositions(
        '{"version":1,"files":[{"path":"a","dev":1,"ino":2,"offset":0}]}',
      ),
    ).toEqual({
      version: 1,
      files: [{ path: 'a', dev: 1, ino: 2, offset: 0 }],
      extra: undefined,
    });
  });
});
