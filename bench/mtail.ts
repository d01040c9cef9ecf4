/**
 * mtail, the reference log-to-metrics tool, run over the benchmark's log in
 * one-shot mode with a program that computes the exporter's request counter
 * and latency histogram, and the comparison of its counts with ours.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mtailVersion } from './machine.js';
import { endedChildrenCpuSeconds } from './proc.js';

/** The folder of mtail programs; mtail loads every program in it. */
export const MTAIL_PROGRAMS = fileURLToPath(
  new URL('../../bench/mtail/', import.meta.url),
);

/** The families both tools produce, compared sample by sample. */
const COMPARED = [
  'inference_requests_total',
  'inference_request_duration_seconds_bucket',
  'inference_request_duration_seconds_count',
];

/**
 * Makes sure mtail is there: installs the Debian package when running as
 * root, else says why it is missing.
 */
export function ensureMtail(): { ok: true } | { ok: false; why: string } {
  if (mtailVersion()) return { ok: true };
  if (process.getuid?.() !== 0) {
    return { ok: false, why: 'mtail is not installed and this is not root' };
  }
  const install = spawnSync('apt-get', ['install', '-y', 'mtail'], {
    stdio: 'ignore',
    timeout: 300_000,
  });
  if (install.status === 0 && mtailVersion()) return { ok: true };
  return { ok: false, why: 'apt-get install mtail failed' };
}

/** One one-shot run: wall and CPU seconds, and its exposition text. */
export function runMtail(
  path: string,
): Promise<{ seconds: number; cpuSeconds: number; text: string }> {
  const args = [
    `--progs=${MTAIL_PROGRAMS}`,
    `--logs=${path}`,
    '--one_shot',
    '--one_shot_format=prometheus',
    '--address=127.0.0.1',
    '--port=0',
    '--logtostderr',
    '--stderrthreshold=ERROR',
  ];
  const started = performance.now();
  const cpuBefore = endedChildrenCpuSeconds();
  const child = spawn('mtail', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on(
    'data',
    (d: Buffer) => (err = (err + d.toString()).slice(-4096)),
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const cpuSeconds = endedChildrenCpuSeconds() - cpuBefore;
      const text = Buffer.concat(out).toString();
      if (code !== 0) reject(new Error(`mtail exited with ${code}: ${err}`));
      else resolve({ seconds, cpuSeconds, text });
    });
  });
}

/**
 * Samples of the compared families, keyed by name and sorted labels, with
 * mtail's own `prog` label left out.
 */
export function comparableSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const brace = line.indexOf('{');
    if (brace < 0) continue;
    const name = line.slice(0, brace);
    if (!COMPARED.includes(name)) continue;
    const close = line.lastIndexOf('}');
    const labels = line
      .slice(brace + 1, close)
      .split(/,(?=[a-z_]+=")/)
      .filter((pair) => !pair.startsWith('prog='))
      .sort()
      .join(',');
    samples.set(`${name}{${labels}}`, Number(line.slice(close + 2)));
  }
  return samples;
}

/** Where two sets of samples differ, as readable lines (empty: equal). */
export function sampleDifferences(
  ours: Map<string, number>,
  theirs: Map<string, number>,
): string[] {
  const differences: string[] = [];
  for (const key of new Set([...ours.keys(), ...theirs.keys()])) {
    const a = ours.get(key);
    const b = theirs.get(key);
    if (a !== b) differences.push(`${key}: exporter ${a}, mtail ${b}`);
  }
  return differences;
}
