/**
 * Follows log files named by paths or globs, through rename and copytruncate
 * rotation, and hands complete lines to a synchronous consumer in batches.
 * A file is known by (dev, ino), not by path, so a renamed file is read to
 * its end from its open descriptor while the new file at the path is read
 * from its start: nothing is lost and nothing is read twice.
 *
 * Every poll rescans the patterns, stats each match, and reads each open
 * file from its offset to its end. All file-system faults are logged once
 * per episode, counted on every attempt, and retried on the next poll.
 */
import { open, readdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { ingest } from '../metrics/definitions.js';
import type { MetricDefinition } from '../metrics/definitions.js';
import { CounterFamily, GaugeFamily } from '../metrics/store.js';
import type { MetricStore } from '../metrics/store.js';
import { errText } from '../log.js';
import type { Logger } from '../log.js';
import { expandGlob, hasWildcards, pathMatcher } from './glob.js';
import { LineSplitter } from './line-splitter.js';
import type { TailedLine } from './line-splitter.js';
import type { FilePosition } from './positions.js';

export type { TailedLine } from './line-splitter.js';

/** How a rotation was noticed: a new file at the path, or a shrunk file. */
export type RotationKind = 'rename' | 'truncate';

/** The `operation` label of `inference_log_errors_total` for tail faults. */
export type TailOperation =
  | 'open'
  | 'read'
  | 'stat'
  | 'glob'
  | 'close'
  | 'deliver'
  | 'poll';

/** Self-metrics of a tailer. */
export interface TailMetrics {
  readBytes(bytes: number): void;
  /** Files open for tailing went up or down by `delta`. */
  openFiles(delta: number): void;
  rotation(kind: RotationKind): void;
  error(operation: TailOperation): void;
}

function counterFamily(
  store: MetricStore,
  def: MetricDefinition,
): CounterFamily {
  const family = store.get(def.name);
  return family instanceof CounterFamily ? family : store.counter(def);
}

function gaugeFamily(store: MetricStore, def: MetricDefinition): GaugeFamily {
  const family = store.get(def.name);
  return family instanceof GaugeFamily ? family : store.gauge(def);
}

/**
 * Tail metrics on the `ingest` definitions. Families already registered in
 * the store are reused, so several tailers and the caller can share them.
 */
export function createTailMetrics(store: MetricStore): TailMetrics {
  const bytes = counterFamily(store, ingest.bytes).labels();
  const rotations = counterFamily(store, ingest.rotations);
  const errors = counterFamily(store, ingest.errors);
  const files = gaugeFamily(store, ingest.files).labels();
  return {
    readBytes: (n) => bytes.inc(n),
    openFiles: (delta) => files.inc(delta),
    rotation: (kind) => rotations.labels(kind).inc(),
    error: (operation) => errors.labels(operation).inc(),
  };
}

/** What to tail and how. */
export interface TailerOptions {
  /** Files or globs (`*`, `?`, `[...]`, `**`) to follow. */
  paths: string[];
  /**
   * Read files found at start from their beginning rather than their end.
   * Files that appear later are always read from their beginning.
   */
  fromBeginning: boolean;
  /** How often files are checked for growth, rotation and new matches. */
  pollIntervalMillis: number;
  /** Longest line delivered; longer ones arrive as `tooLong` markers. */
  maxLineBytes: number;
  log: Logger;
  /** Self-metrics; when absent, made from `store` if that is given. */
  metrics?: TailMetrics;
  store?: MetricStore;
  /**
   * Positions saved by an earlier run; entries whose path none of `paths`
   * matches belong to another tailer and are ignored. A file with a saved
   * (dev, ino) resumes at its offset, even under another name in the
   * directory of its saved path; a path that now holds another file is read
   * from its start. Files without an entry follow `fromBeginning`.
   */
  initialPositions?: FilePosition[];
  /**
   * How long a file that was renamed away or deleted stays open after its
   * last growth, for writers that reopen the path only a little later.
   */
  rotateWaitMillis?: number;
}

/** Read size; large enough that a read costs little per line. */
const CHUNK_BYTES = 256 * 1024;
/** Most bytes read from one file per poll, so no file starves the rest. */
const MAX_BYTES_PER_POLL = 16 * 1024 * 1024;
/** How far back a start at the end looks for the last complete line. */
const END_PROBE_BYTES = 64 * 1024;
const DEFAULT_ROTATE_WAIT_MILLIS = 5000;
/**
 * Bytes at the start of a file kept to notice a copytruncate that the size
 * alone hides: truncated, then written past our offset before a poll.
 */
const HEAD_BYTES = 1024;
/** Most polls one drain() runs: 1,000 polls of up to 16 MiB each. */
const MAX_DRAIN_ROUNDS = 1000;

interface OpenFile {
  key: string;
  dev: number;
  ino: number;
  path: string;
  handle: FileHandle | undefined;
  cursor: LineSplitter;
  /** When the path stopped leading to this file; undefined while it does. */
  detachedAt: number | undefined;
  lastGrowthAt: number;
  /** The file's first bytes as read, up to HEAD_BYTES. */
  head: Buffer;
}

/** A file just opened, with the stats of its descriptor. */
interface Opened {
  path: string;
  handle: FileHandle;
  stats: Stats;
}

/** A match of the patterns, by the file it leads to. */
interface Match {
  path: string;
  stats: Stats;
}

function keyOf(stats: Stats): string {
  return `${stats.dev}:${stats.ino}`;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function validate(opts: TailerOptions): void {
  const fail = (key: string, rule: string, value: unknown): never => {
    throw new Error(`tail: ${key} ${rule}, got ${JSON.stringify(value)}`);
  };
  if (opts.paths.length === 0 || opts.paths.some((p) => p === '')) {
    fail('paths', 'must list at least one non-empty path', opts.paths);
  }
  if (!(opts.pollIntervalMillis > 0)) {
    const interval = opts.pollIntervalMillis;
    fail('pollIntervalMillis', 'must be a positive number', interval);
  }
  if (!Number.isSafeInteger(opts.maxLineBytes) || opts.maxLineBytes <= 0) {
    fail('maxLineBytes', 'must be a positive integer', opts.maxLineBytes);
  }
  const wait = opts.rotateWaitMillis;
  if (wait !== undefined && !(wait >= 0)) {
    fail('rotateWaitMillis', 'must be zero or more', wait);
  }
}

/** Follows files and globs, handing their complete lines to `onLines`. */
export class Tailer {
  private readonly files = new Map<string, OpenFile>();
  /** The file each path last led to, to tell a rotation from a new file. */
  private readonly pathOwner = new Map<string, string>();
  private readonly saved = new Map<string, FilePosition>();
  /** Faults already logged, by operation and path, with their reason. */
  private readonly failing = new Map<string, string>();
  /** Two read buffers: one being parsed while the other is filled. */
  private readonly chunks = [
    Buffer.allocUnsafe(CHUNK_BYTES),
    Buffer.allocUnsafe(CHUNK_BYTES),
  ];
  private readonly rotateWaitMillis: number;
  private readonly metrics: TailMetrics | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private stopped = false;

  constructor(
    private readonly opts: TailerOptions,
    private readonly onLines: (batch: TailedLine[]) => void,
  ) {
    validate(opts);
    this.rotateWaitMillis = opts.rotateWaitMillis ?? DEFAULT_ROTATE_WAIT_MILLIS;
    this.metrics =
      opts.metrics ?? (opts.store ? createTailMetrics(opts.store) : undefined);
    const ours = opts.paths.map(pathMatcher);
    for (const position of opts.initialPositions ?? []) {
      if (!ours.some((matches) => matches(position.path))) continue;
      const key = `${position.dev}:${position.ino}`;
      this.saved.set(key, position);
      this.pathOwner.set(position.path, key);
    }
  }

  /** Opens the files found now and starts polling. */
  async start(): Promise<void> {
    if (this.started) throw new Error('tail: start() called twice');
    this.started = true;
    this.opts.log.debug('tailing', {
      paths: this.opts.paths.join(','),
      from_beginning: this.opts.fromBeginning,
      saved_positions: this.saved.size,
    });
    await this.enqueue(() => this.guarded(() => this.discover(true)));
    this.schedule(0);
  }

  /** Stops polling and closes every file; positions() stays available. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
    for (const file of this.files.values()) await this.closeHandle(file);
  }

  /** Resolves when every watched file has been read to its current end. */
  async drain(): Promise<void> {
    // Bounded, so that a writer faster than the reader cannot hold it.
    for (let round = 0; round < MAX_DRAIN_ROUNDS && !this.stopped; round++) {
      const more = await this.enqueue(() => this.poll());
      if (!more) return;
    }
  }

  /**
   * Where each open file stands. Offsets cover exactly the lines handed to
   * onLines so far, so a snapshot taken between batches matches what the
   * consumer has counted.
   */
  positions(): FilePosition[] {
    return [...this.files.values()].map((file) => {
      const { lineStart, line } = file.cursor;
      const position: FilePosition = {
        path: file.path,
        dev: file.dev,
        ino: file.ino,
        offset: lineStart,
      };
      if (line !== undefined) position.line = line;
      return position;
    });
  }

  /** Runs tasks one at a time, so reads never overlap on the shared chunks. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * A poll that stopped at the per-poll cap is followed at once, so a large
   * backlog is read at full speed; the interval applies once caught up.
   */
  private schedule(delayMillis: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.poll()).then((more) =>
        this.schedule(more ? 0 : this.opts.pollIntervalMillis),
      );
    }, delayMillis);
  }

  /** One poll; true when some file had more to read than one poll takes. */
  private poll(): Promise<boolean> {
    return this.guarded(async () => {
      if (this.stopped) return false;
      await this.discover(false);
      return this.readAll();
    });
  }

  /** The one boundary where an unexpected fault of a poll is caught. */
  private async guarded<T>(task: () => Promise<T | false>): Promise<T | false> {
    try {
      return await task();
    } catch (err) {
      this.metrics?.error('poll');
      this.opts.log.error('tail poll failed', { err: errText(err) });
      return false;
    }
  }

  private async discover(initial: boolean): Promise<void> {
    const matches = await this.scan();
    if (initial) await this.resumeRotatedAway(matches);
    // Saved files first, so their remainders precede their successors.
    const order = [...matches].sort(
      ([a], [b]) => Number(this.saved.has(b)) - Number(this.saved.has(a)),
    );
    for (const [key, match] of order) {
      if (this.stopped) return;
      await this.follow(key, match, initial);
    }
    this.markDetached(matches);
  }

  /** Every regular file the patterns lead to now, by (dev, ino). */
  private async scan(): Promise<Map<string, Match>> {
    const matches = new Map<string, Match>();
    for (const pattern of this.opts.paths) {
      const literal = !hasWildcards(pattern);
      const paths = await expandGlob(pattern, (dir, err) =>
        this.fail('glob', dir, err),
      );
      for (const path of paths) {
        const stats = await this.statMatch(path, literal);
        if (!stats) continue;
        const key = keyOf(stats);
        // Links can lead two paths to one file; the first path names it.
        if (!matches.has(key)) matches.set(key, { path, stats });
      }
    }
    return matches;
  }

  private async statMatch(
    path: string,
    literal: boolean,
  ): Promise<Stats | undefined> {
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch (err) {
      // A path seen before and gone now was rotated or deleted, not lost.
      const expected = !literal || this.pathOwner.has(path);
      if (errCode(err) !== 'ENOENT' || !expected) this.fail('stat', path, err);
      return undefined;
    }
    if (stats.isFile()) {
      this.recovered('stat', path);
      return stats;
    }
    // Not recovered: a path that stays a directory is logged only once.
    if (literal) this.fail('stat', path, new Error('not a regular file'));
    return undefined;
  }

  /** Follows a newly seen file, or checks a known one for truncation. */
  private async follow(key: string, match: Match, initial: boolean) {
    const known = this.files.get(key);
    if (known) {
      known.path = match.path;
      this.pathOwner.set(match.path, key);
      const offset = known.cursor.readOffset;
      const size = match.stats.size;
      if (size < offset || (size > offset && (await this.headChanged(known)))) {
        this.truncated(known);
      }
      return;
    }
    const opened = await this.openMatch(key, match.path);
    if (!opened) return;

    // A saved file under a new name is a known file, not a rotation.
    const previous = this.pathOwner.get(match.path);
    const replaced =
      previous !== undefined && previous !== key && !this.saved.has(key);
    if (replaced) {
      this.metrics?.rotation('rename');
      this.opts.log.info('log file rotated', {
        file: match.path,
        kind: 'rename',
      });
    }
    this.pathOwner.set(match.path, key);
    const cursor = await this.startCursor(key, opened, initial, replaced);
    this.add(key, opened, cursor);
  }

  /** Opens `path` if it still leads to the file that was matched. */
  private async openMatch(
    key: string,
    path: string,
  ): Promise<Opened | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      this.fail('open', path, err);
      return undefined;
    }
    this.recovered('open', path);
    try {
      const stats = await handle.stat();
      // Replaced between stat and open: the next poll sees the new file.
      if (keyOf(stats) === key) return { path, handle, stats };
    } catch (err) {
      this.fail('stat', path, err);
    }
    await handle.close().catch(() => {});
    return undefined;
  }

  private add(key: string, opened: Opened, cursor: LineSplitter): OpenFile {
    const path = opened.path;
    const file: OpenFile = {
      key,
      dev: opened.stats.dev,
      ino: opened.stats.ino,
      path,
      handle: opened.handle,
      cursor,
      detachedAt: undefined,
      lastGrowthAt: Date.now(),
      head: Buffer.alloc(0),
    };
    this.files.set(key, file);
    this.metrics?.openFiles(1);
    this.opts.log.info('following log file', {
      file: path,
      offset: cursor.readOffset,
    });
    return file;
  }

  /**
   * Where reading of a newly opened file begins: a saved position (also
   * for a saved file that could only be opened later), else the start for
   * files that appeared since (including one that replaced a saved file
   * while we were stopped), else as `fromBeginning` says.
   */
  private async startCursor(
    key: string,
    opened: Opened,
    initial: boolean,
    replaced: boolean,
  ): Promise<LineSplitter> {
    const max = this.opts.maxLineBytes;
    const saved = this.savedPosition(key, opened.stats.size);
    if (saved) return new LineSplitter(max, saved.offset, saved.line);
    if (!initial || replaced || this.opts.fromBeginning) {
      return new LineSplitter(max, 0, 0);
    }
    return this.cursorAtEnd(opened);
  }

  /** A saved position for `key`, checked against the file's size now. */
  private savedPosition(
    key: string,
    size: number,
  ): { offset: number; line: number | undefined } | undefined {
    const saved = this.saved.get(key);
    if (!saved) return undefined;
    this.saved.delete(key);
    if (saved.offset <= size) return { offset: saved.offset, line: saved.line };
    this.metrics?.rotation('truncate');
    this.opts.log.info('log file shrank while stopped, reading it again', {
      file: saved.path,
    });
    return { offset: 0, line: 0 };
  }

  /**
   * A start at the end skips complete lines only: a line still being
   * written when we start is delivered whole once its newline arrives.
   */
  private async cursorAtEnd(opened: Opened): Promise<LineSplitter> {
    const size = opened.stats.size;
    const max = this.opts.maxLineBytes;
    if (size === 0) return new LineSplitter(max, 0, 0);
    const window = Math.min(size, END_PROBE_BYTES);
    const probe = Buffer.allocUnsafe(window);
    try {
      const from = size - window;
      const { bytesRead } = await opened.handle.read(probe, 0, window, from);
      const newline = probe.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) {
        return new LineSplitter(max, from + newline + 1, undefined);
      }
      if (window === size) return new LineSplitter(max, 0, 0);
    } catch (err) {
      this.fail('read', opened.path, err);
    }
    const cursor = new LineSplitter(max, size, undefined);
    cursor.skipToNextLine();
    return cursor;
  }

  private truncated(file: OpenFile): void {
    this.metrics?.rotation('truncate');
    this.opts.log.info('log file truncated, reading it from the start', {
      file: file.path,
      kind: 'truncate',
    });
    file.cursor.reset(0, 0);
    file.head = Buffer.alloc(0);
  }

  /** True when the file no longer starts with the bytes it started with. */
  private async headChanged(file: OpenFile): Promise<boolean> {
    const head = file.head;
    if (!file.handle || head.length === 0) return false;
    const now = Buffer.allocUnsafe(head.length);
    try {
      const { bytesRead } = await file.handle.read(now, 0, head.length, 0);
      return bytesRead < head.length || !now.equals(head);
    } catch (err) {
      this.fail('read', file.path, err);
      return false;
    }
  }

  /** Keeps the part of a chunk read at `at` that falls in the head. */
  private keepHead(file: OpenFile, chunk: Buffer, at: number, length: number) {
    if (at !== file.head.length || at >= HEAD_BYTES) return;
    const take = Math.min(length, HEAD_BYTES - at);
    file.head = Buffer.concat([file.head, chunk.subarray(0, take)]);
  }

  private markDetached(matches: Map<string, Match>): void {
    const now = Date.now();
    for (const file of this.files.values()) {
      if (matches.has(file.key)) {
        file.detachedAt = undefined;
      } else if (file.detachedAt === undefined) {
        file.detachedAt = now;
        this.opts.log.debug('log file moved or deleted, reading to its end', {
          file: file.path,
        });
      }
    }
  }

  /**
   * After a restart, a saved file no longer matched by the patterns was
   * most likely rotated while we were stopped: find it by (dev, ino) in its
   * old directory and read its remainder before the file now at its path.
   */
  private async resumeRotatedAway(matches: Map<string, Match>): Promise<void> {
    const listings = new Map<string, Map<string, string>>();
    for (const [key, saved] of [...this.saved]) {
      if (matches.has(key)) continue;
      const dir = dirname(saved.path);
      let listing = listings.get(dir);
      if (!listing) {
        listing = await this.filesByKey(dir);
        listings.set(dir, listing);
      }
      const path = listing.get(key);
      if (path === undefined) {
        this.saved.delete(key);
        this.opts.log.warn(
          'saved log file no longer exists, its unread lines are lost',
          { file: saved.path },
        );
        continue;
      }
      await this.resumeAt(key, path);
    }
  }

  private async resumeAt(key: string, path: string): Promise<void> {
    const opened = await this.openMatch(key, path);
    if (!opened) return;
    const position = this.savedPosition(key, opened.stats.size);
    const start = position ?? { offset: 0, line: 0 };
    const max = this.opts.maxLineBytes;
    const cursor = new LineSplitter(max, start.offset, start.line);
    const file = this.add(key, opened, cursor);
    file.detachedAt = Date.now();
  }

  /** Regular files in `dir` by (dev, ino). */
  private async filesByKey(dir: string): Promise<Map<string, string>> {
    const byKey = new Map<string, string>();
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      this.fail('glob', dir, err);
      return byKey;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats?.isFile()) byKey.set(keyOf(stats), path);
    }
    return byKey;
  }

  /** Reads files in the order found: a rotated file before its successor. */
  private async readAll(): Promise<boolean> {
    let more = false;
    for (const file of [...this.files.values()]) {
      if (this.stopped) return false;
      const fileHasMore = await this.readFile(file);
      more ||= fileHasMore;
      if (!fileHasMore) await this.closeIfFinished(file);
    }
    return more;
  }

  /**
   * Reads `file` to its end, or to the per-poll cap; true at the cap. The
   * next chunk is requested before the current one is handed on, so the
   * disk read overlaps the parsing instead of waiting for it.
   */
  private async readFile(file: OpenFile): Promise<boolean> {
    const handle = file.handle;
    if (!handle) return false;
    let turn = 0;
    let next = this.readChunk(file, handle, turn, file.cursor.readOffset);
    for (let budget = MAX_BYTES_PER_POLL; budget > 0; ) {
      const bytesRead = await next;
      if (bytesRead === undefined) return false;
      if (bytesRead === 0) {
        this.recovered('read', file.path);
        return false;
      }
      const readAt = file.cursor.readOffset;
      // Bytes read past the head after a truncation belong to new content.
      if (readAt > 0 && (await this.headChanged(file))) {
        // Read it again from the start at the next poll, not at once, so
        // a file rewritten over and over cannot keep the loop spinning.
        this.truncated(file);
        return false;
      }
      budget -= bytesRead;
      const chunk = this.chunks[turn]!;
      this.keepHead(file, chunk, readAt, bytesRead);
      turn = 1 - turn;
      if (budget > 0) {
        const at = file.cursor.readOffset + bytesRead;
        next = this.readChunk(file, handle, turn, at);
      }
      file.lastGrowthAt = Date.now();
      this.metrics?.readBytes(bytesRead);
      this.deliver(file, chunk, bytesRead);
    }
    return true;
  }

  /** Reads into chunk buffer `turn`; undefined after a counted failure. */
  private async readChunk(
    file: OpenFile,
    handle: FileHandle,
    turn: number,
    at: number,
  ): Promise<number | undefined> {
    try {
      const chunk = this.chunks[turn]!;
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, at);
      return bytesRead;
    } catch (err) {
      this.fail('read', file.path, err);
      return undefined;
    }
  }

  private deliver(file: OpenFile, chunk: Buffer, length: number): void {
    const batch: TailedLine[] = [];
    file.cursor.push(chunk, length, file.path, batch);
    if (batch.length === 0) return;
    try {
      this.onLines(batch);
    } catch (err) {
      this.metrics?.error('deliver');
      this.opts.log.error('line consumer failed', {
        file: file.path,
        err: errText(err),
      });
    }
  }

  /** Closes a renamed or deleted file once it has stopped growing a while. */
  private async closeIfFinished(file: OpenFile): Promise<void> {
    if (file.detachedAt === undefined) return;
    const idleSince = Math.max(file.detachedAt, file.lastGrowthAt);
    if (Date.now() - idleSince < this.rotateWaitMillis) return;
    this.files.delete(file.key);
    await this.closeHandle(file);
    this.opts.log.info('finished rotated or deleted log file', {
      file: file.path,
    });
  }

  private async closeHandle(file: OpenFile): Promise<void> {
    const handle = file.handle;
    if (!handle) return;
    file.handle = undefined;
    this.metrics?.openFiles(-1);
    try {
      await handle.close();
    } catch (err) {
      this.fail('close', file.path, err);
    }
  }

  /** Counts every failed attempt; logs only when the reason changes. */
  private fail(operation: TailOperation, path: string, err: unknown): void {
    this.metrics?.error(operation);
    const id = `${operation}\u0000${path}`;
    const reason = errCode(err) ?? errText(err);
    if (this.failing.get(id) === reason) return;
    this.failing.set(id, reason);
    const message =
      reason === 'ENOENT'
        ? 'log file not found, will keep looking'
        : `cannot ${operation} log file, will retry`;
    this.opts.log.warn(message, { file: path, err: errText(err) });
  }

  private recovered(operation: TailOperation, path: string): void {
    if (this.failing.size === 0) return;
    if (this.failing.delete(`${operation}\u0000${path}`)) {
      this.opts.log.info('log file usable again', { file: path, operation });
    }
  }
}
