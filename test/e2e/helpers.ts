/**
 * Helpers for end-to-end tests: start the built CLI on loopback, scrape it,
 * and read sample values out of the exposition text.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(
  new URL('../../dist/src/cli.js', import.meta.url),
);

export interface RunningCli {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the CLI on 127.0.0.1 port 0 and waits for its listening line. */
export async function startCli(
  args: string[],
  timeoutMs = 20_000,
): Promise<RunningCli> {
  const child = spawn(
    process.execPath,
    [CLI, '--web.listen-address=127.0.0.1:0', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`CLI did not start:\n${err}`)),
      timeoutMs,
    );
    const check = () => {
      const m = /msg=listening .*address=127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited with ${code}:\n${err}`));
    });
  });
  return {
    child,
    port,
    stderr: () => err,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null)
          return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** Runs the CLI to its end, for the cases where it must refuse to start. */
export function runCliToEnd(args: string[]): {
  status: number | null;
  stderr: string;
} {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

export async function scrape(
  port: number,
  accept?: string,
): Promise<{ text: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: accept ? { accept } : {},
  });
  return {
    text: await res.text(),
    type: res.headers.get('content-type') ?? '',
  };
}

/** Sum of every sample of `name` whose labels include all of `match`. */
export function sum(
  text: string,
  name: string,
  match: Record<string, string> = {},
): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labels = line.slice(name.length).startsWith('{')
      ? line.slice(name.length + 1, line.indexOf('}'))
      : '';
    if (
      Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))
    ) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** Polls until `done` holds, failing after `timeoutMs`. */
export async function waitFor(
  done: () => Promise<boolean>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs `promtool check metrics` on exposition text; returns its output. */
export function promtoolCheckMetrics(text: string): {
  status: number | null;
  output: string;
} {
  const r = spawnSync('promtool', ['check', 'metrics'], {
    input: text,
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
