/**
 * A small path glob over fs.readdir, because Node 20 has no fs.glob.
 * Wildcards work in any path segment: `*` and `?` within one name, `[...]`
 * and `[!...]` for one character from a set or range, `**` for zero or more
 * directories (at the end, for every file below). As in a shell, a wildcard
 * does not match a leading dot, and `\` makes the next character literal.
 */
import { readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join, normalize } from 'node:path';

/** Called with a directory that could not be listed, unless it is missing. */
export type GlobErrorHandler = (dir: string, err: unknown) => void;

const WILDCARD = /(^|[^\\])[*?[]/;

/** Whether a pattern holds a wildcard, so that it must be expanded. */
export function hasWildcards(pattern: string): boolean {
  return WILDCARD.test(pattern);
}

function escapeRegExp(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(char) ? `\\${char}` : char;
}

/** Translates `[...]` starting at `open`; undefined when it never closes. */
function bracketClass(
  segment: string,
  open: number,
): { source: string; end: number } | undefined {
  let i = open + 1;
  let negate = false;
  if (segment[i] === '!' || segment[i] === '^') {
    negate = true;
    i++;
  }
  let body = '';
  for (let first = true; i < segment.length; i++, first = false) {
    const char = segment[i]!;
    if (char === ']' && !first) {
      return { source: `[${negate ? '^' : ''}${body}]`, end: i };
    }
    if (char === '\\' && i + 1 < segment.length) {
      body += `\\${segment[++i]}`;
    } else {
      body += char === '-' ? '-' : escapeRegExp(char);
    }
  }
  return undefined;
}

/** Regular-expression source for one path segment (no `/`). */
function segmentSource(segment: string): string {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i]!;
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\' && i + 1 < segment.length) {
      source += escapeRegExp(segment[++i]!);
    } else if (char === '[') {
      const cls = bracketClass(segment, i);
      if (cls) {
        source += cls.source;
        i = cls.end;
      } else {
        source += '\\[';
      }
    } else {
      source += escapeRegExp(char);
    }
  }
  return source;
}

/** Compiles one path segment (no `/`) into an anchored regular expression. */
export function segmentMatcher(segment: string): RegExp {
  return new RegExp(`^${segmentSource(segment)}$`, 's');
}

/**
 * A test of whether a path is one the pattern can expand to, without
 * touching the file system; both are compared in normalized form.
 */
export function pathMatcher(pattern: string): (path: string) => boolean {
  const normalized = normalize(pattern);
  if (!hasWildcards(pattern)) return (path) => normalize(path) === normalized;

  const segments = normalized.split('/');
  let source = '';
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '**') {
      // Trailing, it means every file below; inside, zero or more dirs.
      source += last ? '(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*' : '(?:(?!\\.)[^/]+/)*';
      return;
    }
    const hidden = hasWildcards(segment) && !segment.startsWith('.');
    source += (hidden ? '(?!\\.)' : '') + segmentSource(segment);
    if (!last) source += '/';
  });
  const regexp = new RegExp(`^${source}$`, 's');
  return (path) => regexp.test(normalize(path));
}

interface Segment {
  globstar: boolean;
  matcher: RegExp;
  /** A leading dot must be spelled out to match dotfiles. */
  dotOk: boolean;
}

function compileSegment(segment: string): Segment {
  return {
    globstar: segment === '**',
    matcher: segmentMatcher(segment),
    dotOk: segment.startsWith('.'),
  };
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

class Walker {
  readonly found: string[] = [];

  constructor(
    private readonly segments: Segment[],
    private readonly onError: GlobErrorHandler,
  ) {}

  private async list(dir: string): Promise<Dirent[]> {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (!isMissing(err)) this.onError(dir, err);
      return [];
    }
  }

  /** Symlinks to directories count as directories, except under `**`. */
  private async isDir(path: string, entry: Dirent): Promise<boolean> {
    if (entry.isDirectory()) return true;
    if (!entry.isSymbolicLink()) return false;
    try {
      return (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  }

  async walk(dir: string, index: number): Promise<void> {
    const segment = this.segments[index];
    if (!segment) return;
    const last = index === this.segments.length - 1;
    const entries = await this.list(dir);

    if (segment.globstar) {
      // `**` matching nothing: the next segment applies to this directory.
      await this.walk(dir, index + 1);
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const path = join(dir, entry.name);
        // Symlinked directories are not entered, so a loop cannot trap us.
        if (entry.isDirectory()) await this.walk(path, index);
        else if (last) this.found.push(path);
      }
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') && !segment.dotOk) continue;
      if (!segment.matcher.test(entry.name)) continue;
      const path = join(dir, entry.name);
      if (last) this.found.push(path);
      else if (await this.isDir(path, entry)) await this.walk(path, index + 1);
    }
  }
}

/**
 * Every existing path that matches the pattern, sorted. A pattern without
 * wildcards is returned as it is, whether or not it exists; a directory that
 * is missing simply matches nothing.
 */
export async function expandGlob(
  pattern: string,
  onError: GlobErrorHandler = () => {},
): Promise<string[]> {
  if (!hasWildcards(pattern)) return [pattern];

  const parts = pattern.split('/');
  const firstWild = parts.findIndex(hasWildcards);
  const prefix = parts.slice(0, firstWild).join('/').replace(/\\(.)/g, '$1');
  const base = prefix === '' ? (pattern.startsWith('/') ? '/' : '.') : prefix;
  const rest = parts.slice(firstWild).filter((part) => part !== '');

  const walker = new Walker(rest.map(compileSegment), onError);
  await walker.walk(base, 0);
  // `**` can reach one path along two routes.
  return [...new Set(walker.found)].sort();
}
