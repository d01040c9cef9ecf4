/**
 * Where replay lines go: a file appended to (as a model server's log would
 * be, so a tailing exporter sees it grow) or any writable stream.
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';

import { errText } from '../log.js';

/** Takes text already ending in a newline, and waits until it is taken. */
export interface LineSink {
  write(text: string): Promise<void>;
  /** Closes a file the sink opened; a caller's stream is left open. */
  close(): Promise<void>;
}

/** Opens `path` for appending, creating its directories first. */
export async function openFileSink(path: string): Promise<LineSink> {
  try {
    await mkdir(dirname(path), { recursive: true });
    const file = await open(path, 'a');
    return {
      write: async (text) => {
        await file.appendFile(text, 'utf8');
      },
      close: () => file.close(),
    };
  } catch (err) {
    throw new Error(`cannot open output file ${path}: ${errText(err)}`);
  }
}

/**
 * Writes to a stream, waiting for `drain` when it is full. A stream error
 * is kept and thrown from the next write rather than left unhandled.
 */
export function streamSink(stream: Writable): LineSink {
  let failure: Error | undefined;
  const onError = (err: Error): void => {
    failure = err;
  };
  stream.on('error', onError);

  return {
    write: async (text) => {
      if (failure) throw failure;
      if (stream.write(text)) return;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          stream.off('drain', done);
          stream.off('error', done);
          if (err) reject(err);
          else resolve();
        };
        stream.on('drain', done);
        stream.on('error', done);
      });
    },
    close: async () => {
      stream.off('error', onError);
    },
  };
}
