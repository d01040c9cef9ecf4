/** Reading and parsing one file under /proc, with errors that name it. */
import { readFile } from 'node:fs/promises';

import { errText } from '../log.js';

/** Reads and parses `path`; a failure names the step and the file. */
export async function readProcFile<T>(
  path: string,
  parse: (text: string) => T,
): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`reading ${path}: ${errText(err)}`);
  }
  try {
    return parse(text);
  } catch (err) {
    throw new Error(`parsing ${path}: ${errText(err)}`);
  }
}
