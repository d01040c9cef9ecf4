/**
 * The positions file: how far each tailed file has been read, saved so that
 * a restart resumes where the last run stopped instead of losing or
 * recounting lines. Saves are atomic (temp file, fsync, rename, fsync of the
 * directory), so a crash leaves either the old file or the new one.
 */
import {
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errText } from '../log.js';
import type { Logger } from '../log.js';

/** How far one file, identified by device and inode, has been read. */
export interface FilePosition {
  /** Where the file was last seen; after a rotation it may have moved. */
  path: string;
  dev: number;
  ino: number;
  /** Bytes before the first line not yet delivered. */
  offset: number;
  /** Lines before `offset`, when counted from the start of the file. */
  line?: number;
}

/** What the positions file holds. */
export interface PositionsState {
  version: 1;
  files: FilePosition[];
  /** Owned by the caller, for example saved metric counters. */
  extra?: unknown;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isFilePosition(value: unknown): value is FilePosition {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry.path === 'string' &&
    isCount(entry.dev) &&
    isCount(entry.ino) &&
    isCount(entry.offset) &&
    (entry.line === undefined || isCount(entry.line))
  );
}

/** The state in `text`, or the reason it is not a valid positions file. */
export function parsePositions(text: string): PositionsState | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return `not valid JSON: ${errText(err)}`;
  }
  if (typeof parsed !== 'object' || parsed === null) return 'not an object';
  const state = parsed as Record<string, unknown>;
  if (state.version !== 1) {
    return `unsupported version ${JSON.stringify(state.version)}`;
  }
  if (!Array.isArray(state.files)) return '"files" is not a list';
  const bad = state.files.findIndex((entry) => !isFilePosition(entry));
  if (bad >= 0) return `files[${bad}] is not a valid file position`;
  return { version: 1, files: state.files, extra: state.extra };
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The name of a temp file a save of `path` writes before its rename. */
function tempName(path: string, pid: number, serial: number): string {
  return `.${basename(path)}.${pid}.${serial}.tmp`;
}

function isTempOf(path: string, name: string): boolean {
  const prefix = `.${basename(path)}.`;
  if (!name.startsWith(prefix) || !name.endsWith('.tmp')) return false;
  return /^\d+\.\d+$/.test(name.slice(prefix.length, -'.tmp'.length));
}

/** Reads and writes one positions file. */
export class PositionsFile {
  private saving: Promise<void> = Promise.resolve();
  private tempSerial = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  /**
   * The saved state, or undefined when there is none. A missing file is a
   * first start; a corrupt or unreadable one is logged as an error naming
   * the file, and the exporter starts fresh rather than refusing to run.
   */
  async load(): Promise<PositionsState | undefined> {
    await this.removeStrayTemps();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (errCode(err) === 'ENOENT') {
        this.log.info('no positions file yet, starting fresh', {
          file: this.path,
        });
      } else {
        this.log.error('cannot read positions file, starting fresh', {
          file: this.path,
          err: errText(err),
        });
      }
      return undefined;
    }
    const state = parsePositions(text);
    if (typeof state === 'string') {
      this.log.error('positions file is corrupt, starting fresh', {
        file: this.path,
        err: state,
      });
      return undefined;
    }
    return state;
  }

  /**
   * Replaces the file with `state` atomically. Saves run one at a time, in
   * call order, so an older state never overwrites a newer one. Throws an
   * error naming the file when it cannot be written.
   */
  save(state: PositionsState): Promise<void> {
    const text = JSON.stringify(state) + '\n';
    const next = this.saving.then(() => this.write(text));
    this.saving = next.catch(() => {});
    return next;
  }

  /**
   * Removes temp files left by a run that died between writing one and
   * renaming it: the file they would have replaced is still whole.
   */
  private async removeStrayTemps(): Promise<void> {
    const dir = dirname(this.path);
    const names = await readdir(dir).catch(() => [] as string[]);
    const stray = names.filter((name) => isTempOf(this.path, name));
    for (const name of stray) await unlink(join(dir, name)).catch(() => {});
    if (stray.length > 0) {
      this.log.info('removed temp files of an interrupted save', {
        file: this.path,
        count: stray.length,
      });
    }
  }

  private async write(text: string): Promise<void> {
    const dir = dirname(this.path);
    const serial = ++this.tempSerial;
    const temp = join(dir, tempName(this.path, process.pid, serial));
    // A rename would replace whatever is there, /dev/null included.
    await refuseNonRegular(this.path);
    try {
      const handle = await open(temp, 'w', 0o644);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
      await syncDirectory(dir);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw new Error(
        `cannot save positions file ${this.path}: ${errText(err)}`,
        { cause: err },
      );
    }
  }
}

/** Throws unless `path` is missing or a regular file (links followed). */
async function refuseNonRegular(path: string): Promise<void> {
  const found = await stat(path).catch((err: unknown) => {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR')
      return undefined;
    throw new Error(`cannot save positions file ${path}: ${errText(err)}`, {
      cause: err,
    });
  });
  if (found && !found.isFile()) {
    throw new Error(
      `cannot save positions file ${path}: it exists and is not a regular file`,
    );
  }
}

/** Makes the rename durable; some file systems cannot sync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    const code = errCode(err);
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle.close();
  }
}
