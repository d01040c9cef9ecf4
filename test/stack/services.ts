/**
 * Starts real Prometheus and Alertmanager binaries (Debian packages) on
 * loopback ports as child processes, and stops them by their own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Service {
  name: string;
  child: ChildProcess;
  url: string;
  log: () => string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Spawns `command` and waits until `readyPath` on `port` answers 200. */
export async function startService(
  name: string,
  command: string,
  args: string[],
  port: number,
  readyPath: string,
  timeoutMs = 30_000,
): Promise<Service> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const service: Service = {
    name,
    child,
    url,
    log: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null)
          return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid!, 'SIGTERM');
      }),
  };
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(url + readyPath)).status === 200) return service;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await service.stop();
  throw new Error(`${name} not ready within ${timeoutMs} ms:\n${output}`);
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Runs an instant query; returns the result vector. */
export async function query(
  prometheusUrl: string,
  expr: string,
): Promise<Sample[]> {
  const res = await fetch(
    `${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: Sample[] };
  };
  if (body.status !== 'success')
    throw new Error(`query failed: ${expr}: ${body.error}`);
  return body.data!.result;
}
