/**
 * Processes the benchmark starts: the built exporter CLI on loopback, and
 * the readings taken from outside it (scrapes, CPU time from /proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';

/** The built CLI, next to this file's build output. */
export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Clock ticks per second of /proc/<pid>/stat times on Linux. */
const CLOCK_TICKS = 100;

export interface RunningProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** performance.now() when each mark's pattern first showed in the output. */
  marks: Map<string, { at: number; cpuSeconds: number }>;
  stop(): Promise<void>;
}

/** How to start a Node script that reports a loopback port. */
export interface StartOptions {
  script: string;
  args: string[];
  /** Its first group is the port. */
  portPattern: RegExp;
  nodeFlags?: string[];
  /** Output lines to timestamp, by name, with the child's CPU time then. */
  marks?: Record<string, RegExp>;
  timeoutMs?: number;
}

/** Starts a Node script and waits until its port shows in its output. */
export async function startNode(
  options: StartOptions,
): Promise<RunningProcess> {
  const { script, portPattern, marks = {} } = options;
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? []), script, ...options.args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const seen = new Map<string, { at: number; cpuSeconds: number }>();
  let output = '';
  const onData = (data: Buffer): void => {
    output += data.toString();
    for (const [name, pattern] of Object.entries(marks)) {
      if (seen.has(name) || !pattern.test(output)) continue;
      seen.set(name, {
        at: performance.now(),
        cpuSeconds: cpuSeconds(child.pid!),
      });
    }
    // Only the head of the output is searched; the rest is dropped.
    if (output.length > 64 * 1024) output = output.slice(0, 64 * 1024);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start:\n${output}`));
    }, options.timeoutMs ?? 20_000);
    const check = (): void => {
      const match = portPattern.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.stderr!.off('data', check);
      resolve(Number(match[1]));
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    port,
    marks: seen,
    stop: () => stopChild(child),
  };
}

/** Ends a child this benchmark started, by its own handle. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts the exporter CLI on 127.0.0.1 with an ephemeral port. */
export function startExporterCli(
  args: string[],
  marks?: Record<string, RegExp>,
): Promise<RunningProcess> {
  return startNode({
    script: CLI,
    args: ['--web.listen-address=127.0.0.1:0', '--no-collector.host', ...args],
    portPattern: /msg=listening .*address=127\.0\.0\.1:(\d+)/,
    marks,
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET of a loopback URL: body size, and the body when asked. */
export function get(
  port: number,
  path: string,
  keepBody: boolean,
): Promise<{ bytes: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keepBody) chunks.push(chunk);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path}: status ${res.statusCode}`));
        } else resolve({ bytes, body: Buffer.concat(chunks).toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sum of every sample of `name`, whatever its labels. */
export function sampleSum(text: string, name: string): number {
  let total = 0;
  let at = text.indexOf(`\n${name}`);
  while (at >= 0) {
    const end = text.indexOf('\n', at + 1);
    const line = text.slice(at + 1, end < 0 ? undefined : end);
    const rest = line.slice(name.length);
    if (rest.startsWith('{') || rest.startsWith(' ')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    at = end < 0 ? -1 : text.indexOf(`\n${name}`, end);
  }
  return total;
}

/** Lines the exporter at `port` has counted so far. */
export async function linesCounted(port: number): Promise<number> {
  const { body } = await get(port, '/metrics', true);
  return sampleSum(body, 'inference_log_lines_total');
}

/** User plus system CPU seconds a process has used, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces, start at ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}

/**
 * CPU seconds of this process's children that have ended and been waited
 * for; the difference around one child's run is that child's CPU time.
 */
export function endedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
