/**
 * Real-looking input for the reliability tests: lines written by the demo
 * replay of the bundled Online Retail slice (data/online-retail/), the same
 * lines the demo model server writes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';

/** The lines of a replay of `invoices` invoices, in data time. */
export async function replayLines(
  invoices: number,
  loop = false,
): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ie-replay-'));
  try {
    const output = join(dir, 'model-server.jsonl');
    await runReplay({
      dataPath: defaultDataPath(),
      output,
      clock: 'source',
      speedup: 0,
      progress: false,
      loop,
      limit: invoices,
    });
    const text = await readFile(output, 'utf8');
    return text.split('\n').filter((line) => line !== '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
