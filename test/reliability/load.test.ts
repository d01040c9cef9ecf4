/**
 * Load on loopback: concurrent NDJSON pushes and /metrics scrapes, bounded
 * in request count and time. Every pushed event must be counted, and the
 * scrape latency under that load is reported.
 */
import autocannon from 'autocannon';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';
import { scrape, startCli, sum } from '../e2e/helpers.js';

const PUSHES = 400;
const SCRAPES = 200;

let dir: string;
let batch: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ie-load-'));
  const log = join(dir, 'replay.jsonl');
  await runReplay({
    dataPath: defaultDataPath(),
    output: log,
    clock: 'source',
    speedup: 0,
    progress: false,
    limit: 15,
  });
  batch = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number; max: number };
}

function run(options: Record<string, unknown>): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      { timeout: 10, duration: 60, ...options },
      (err: Error | null, result: Result) =>
        err ? reject(err) : resolve(result),
    );
  });
}

describe('concurrent pushes and scrapes', () => {
  it('counts every pushed event while scrapes keep answering', async () => {
    const cli = await startCli(['--web.enable-ingest']);
    const url = `http://127.0.0.1:${cli.port}`;
    try {
      const [pushes, scrapes] = await Promise.all([
        run({
          url: `${url}/ingest`,
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: batch.join('\n') + '\n',
          connections: 8,
          amount: PUSHES,
        }),
        run({ url: `${url}/metrics`, connections: 2, amount: SCRAPES }),
      ]);
      expect(pushes.errors + pushes.timeouts + pushes.non2xx).toBe(0);
      expect(pushes['2xx']).toBe(PUSHES);
      expect(scrapes.errors + scrapes.timeouts + scrapes.non2xx).toBe(0);
      expect(scrapes['2xx']).toBe(SCRAPES);

      const text = (await scrape(cli.port)).text;
      const inference = batch.filter((l) => l.includes('"type":"inference"'));
      expect(sum(text, 'inference_log_lines_total', { result: 'parsed' })).toBe(
        PUSHES * batch.length,
      );
      expect(sum(text, 'inference_requests_total')).toBe(
        PUSHES * inference.length,
      );
      expect(
        sum(text, 'inference_ingest_requests_total', {
          route: '/ingest',
          code: '200',
        }),
      ).toBe(PUSHES);
      console.log(
        `load: ${PUSHES} pushes of ${batch.length} lines, ${SCRAPES} scrapes; ` +
          `scrape latency p50 ${scrapes.latency.p50} ms, p99 ${scrapes.latency.p99} ms, ` +
          `max ${scrapes.latency.max} ms; push p99 ${pushes.latency.p99} ms`,
      );
    } finally {
      await cli.stop();
    }
  });
});
