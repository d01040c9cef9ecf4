/**
 * Runs one ingest measurement in a fresh process, so that every repetition
 * starts with a cold JIT like the exporter does, and prints it as JSON.
 *
 *   node ingest-child.js pipeline FILE   the exporter's own pipeline
 *   node ingest-child.js bare FILE       read and JSON.parse only
 */
import { open } from 'node:fs/promises';
import { defaultConfig, defaultSource } from '../src/config/schema.js';
import { startExporter } from '../src/exporter.js';
import { silentLogger } from '../src/log.js';
import * as defs from '../src/metrics/definitions.js';
import { CounterFamily } from '../src/metrics/store.js';

/** What a child reports. */
export interface IngestRun {
  lines: number;
  seconds: number;
  cpuSeconds: number;
}

const READ_BYTES = 256 * 1024;

function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * Tails the file from its start through the whole exporter (tailer, parser,
 * recorder, attribution join) and waits until it has read to the end.
 */
async function pipeline(path: string): Promise<IngestRun> {
  const config = defaultConfig();
  config.host.enabled = false;
  const source = defaultSource([path]);
  source.fromBeginning = true;
  config.sources.push(source);

  const started = performance.now();
  const cpuStart = cpuNow();
  const exporter = await startExporter({
    config,
    listen: { host: '127.0.0.1', port: 0 },
    telemetryPath: '/metrics',
    log: silentLogger,
  });
  await exporter.drain();
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuNow() - cpuStart;

  const family = exporter.store.get(defs.ingest.lines.name);
  let lines = 0;
  if (family instanceof CounterFamily) {
    for (const { child } of family.children.values()) lines += child.value;
  }
  await exporter.stop();
  return { lines, seconds, cpuSeconds };
}

/** The floor: chunked reads, newline search, decode and JSON.parse. */
async function bare(path: string): Promise<IngestRun> {
  const started = performance.now();
  const cpuStart = cpuNow();
  const file = await open(path, 'r');
  const chunk = Buffer.allocUnsafe(READ_BYTES);
  let carry = Buffer.alloc(0);
  let lines = 0;
  let parsedKeys = 0;
  for (;;) {
    const { bytesRead } = await file.read(chunk, 0, READ_BYTES, null);
    if (bytesRead === 0) break;
    const bytes = carry.length
      ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
      : chunk.subarray(0, bytesRead);
    let start = 0;
    for (
      let nl = bytes.indexOf(10, start);
      nl >= 0;
      nl = bytes.indexOf(10, start)
    ) {
      const event = JSON.parse(bytes.toString('utf8', start, nl)) as object;
      if (event !== null) parsedKeys++;
      lines++;
      start = nl + 1;
    }
    carry = Buffer.from(bytes.subarray(start));
  }
  await file.close();
  const seconds = (performance.now() - started) / 1000;
  if (parsedKeys !== lines) throw new Error('a line did not parse');
  return { lines, seconds, cpuSeconds: cpuNow() - cpuStart };
}

async function main(): Promise<void> {
  const [mode, path] = process.argv.slice(2);
  if (!path || (mode !== 'pipeline' && mode !== 'bare')) {
    throw new Error('usage: ingest-child.js pipeline|bare FILE');
  }
  const run = mode === 'pipeline' ? await pipeline(path) : await bare(path);
  process.stdout.write(JSON.stringify(run) + '\n');
}

await main();
