import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandGlob,
  hasWildcards,
  pathMatcher,
  segmentMatcher,
} from '../../src/sources/glob.js';

describe('segmentMatcher', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.log', 'app.log', true],
    ['*.log', 'app.log.1', false],
    ['app.log.?', 'app.log.1', true],
    ['app.log.?', 'app.log.10', false],
    ['app-[0-9].log', 'app-7.log', true],
    ['app-[0-9].log', 'app-x.log', false],
    ['app-[!0-9].log', 'app-x.log', true],
    ['app-[!0-9].log', 'app-7.log', false],
    ['[]x].log', '].log', true],
    ['a[.log', 'a[.log', true],
    ['a.log', 'aXlog', false],
    ['a\\*.log', 'a*.log', true],
    ['a\\*.log', 'ab.log', false],
    ['(x)+.log', '(x)+.log', true],
  ];

  it.each(cases)('%s against %s is %s', (pattern, name, expected) => {
    expect(segmentMatcher(pattern).test(name)).toBe(expected);
  });

  it('tells wildcard patterns from literal ones', () => {
    expect(hasWildcards('/var/log/*.log')).toBe(true);
    expect(hasWildcards('/var/log/app-[12].log')).toBe(true);
    expect(hasWildcards('/var/log/app.log')).toBe(false);
    expect(hasWildcards('/var/log/a\\*.log')).toBe(false);
  });
});

describe('pathMatcher', () => {
  const cases: Array<[string, string, boolean]> = [
    ['/var/log/app.log', '/var/log/app.log', true],
    ['/var/log/app.log', '/var/log//./app.log', true],
    ['/var/log/app.log', '/var/log/app.log.1', false],
    ['/var/log/*.log', '/var/log/a.log', true],
    ['/var/log/*.log', '/var/log/sub/a.log', false],
    ['/var/log/*.log', '/var/log/.a.log', false],
    ['/var/*/app.log', '/var/svc/app.log', true],
    ['/var/**/app.log', '/var/app.log', true],
    ['/var/**/app.log', '/var/a/b/app.log', true],
    ['/var/**/app.log', '/var/a/b/other.log', false],
    ['/var/**', '/var/a/b/c.log', true],
    ['/var/**', '/var/a/.b/c.log', false],
    ['./logs/*.log', 'logs/x.log', true],
  ];

  it.each(cases)('%s against %s is %s', (pattern, path, expected) => {
    expect(pathMatcher(pattern)(path)).toBe(expected);
  });
});

describe('expandGlob', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'glob-test-'));
    const files = [
      'a.log',
      'b.log',
      'b.log.1',
      '.hidden.log',
      'svc1/app.log',
      'svc2/app.log',
      'svc2/other.txt',
      'deep/x/y/app.log',
    ];
    for (const file of files) {
      await mkdir(join(root, file, '..'), { recursive: true });
      await writeFile(join(root, file), '');
    }
    await symlink(join(root, 'svc1'), join(root, 'svc-link'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const rel = async (pattern: string): Promise<string[]> =>
    (await expandGlob(join(root, pattern))).map((p) =>
      p.slice(root.length + 1),
    );

  it('matches names in one directory, skipping dotfiles', async () => {
    expect(await rel('*.log')).toEqual(['a.log', 'b.log']);
    expect(await rel('b.log*')).toEqual(['b.log', 'b.log.1']);
    expect(await rel('.*.log')).toEqual(['.hidden.log']);
  });

  it('matches wildcards in directory segments, through symlinks', async () => {
    expect(await rel('svc*/app.log')).toEqual([
      'svc-link/app.log',
      'svc1/app.log',
      'svc2/app.log',
    ]);
    expect(await rel('svc[2]/*')).toEqual(['svc2/app.log', 'svc2/other.txt']);
  });

  it('matches any depth with **', async () => {
    expect(await rel('**/app.log')).toEqual([
      'deep/x/y/app.log',
      'svc1/app.log',
      'svc2/app.log',
    ]);
    expect(await rel('deep/**/y/*.log')).toEqual(['deep/x/y/app.log']);
    expect(await rel('svc2/**')).toEqual(['svc2/app.log', 'svc2/other.txt']);
  });

  it('expands to paths that pathMatcher accepts', async () => {
    for (const pattern of ['*.log', 'svc*/app.log', '**/app.log', 'deep/**']) {
      const full = join(root, pattern);
      const found = await expandGlob(full);
      expect(found.length).toBeGreaterThan(0);
      expect(found.every(pathMatcher(full))).toBe(true);
    }
  });

  it('returns a literal path unchanged and nothing for a missing dir', async () => {
    const literal = join(root, 'nope.log');
    expect(await expandGlob(literal)).toEqual([literal]);
    expect(await rel('missing/*.log')).toEqual([]);
  });

  it('reports a directory it cannot list, other than a missing one', async () => {
    const failures: string[] = [];
    // A file where a directory is expected is not listable: ENOTDIR is
    // treated as missing, so nothing is reported and nothing matches.
    const found = await expandGlob(join(root, 'a.log', '*'), (dir) =>
      failures.push(dir),
    );
    expect(found).toEqual([]);
    expect(failures).toEqual([]);
  });
});
