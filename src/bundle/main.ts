/**
 * Writes the monitoring bundle, or with --check lists the files that differ
 * from a fresh generation and exits 1.
 *
 *   node dist/src/bundle/main.js [--check] [--out DIR] [--config FILE.json]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateBundleConfig, type BundleConfig } from './config.js';
import { generateBundle } from './files.js';

/** The repository root, from dist/src/bundle/ or src/bundle/. */
function repositoryRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join('dist', 'src')}`) ? '../../..' : '../..';
  return resolve(here, up);
}

/** Writes every bundle file under `dir`; returns the paths written. */
export function writeBundle(dir: string, config: BundleConfig): string[] {
  const files = generateBundle(config);
  for (const [path, content] of files) {
    const target = join(dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  return [...files.keys()];
}

/** Bundle paths whose file under `dir` is missing or differs. */
export function staleFiles(dir: string, config: BundleConfig): string[] {
  const stale: string[] = [];
  for (const [path, content] of generateBundle(config)) {
    let current: string | undefined;
    try {
      current = readFileSync(join(dir, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) stale.push(path);
  }
  return stale;
}

interface Options {
  check: boolean;
  out: string;
  configFile?: string;
}

function parseArgs(args: string[]): Options {
  const options: Options = { check: false, out: repositoryRoot() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--check') options.check = true;
    else if (arg === '--out' && args[i + 1]) options.out = resolve(args[++i]!);
    else if (arg === '--config' && args[i + 1]) options.configFile = args[++i]!;
    else
      throw new Error(
        `unknown argument "${arg}"; use --check, --out DIR, --config FILE`,
      );
  }
  return options;
}

function main(): number {
  const options = parseArgs(process.argv.slice(2));
  const partial = options.configFile
    ? JSON.parse(readFileSync(options.configFile, 'utf8'))
    : {};
  const config = validateBundleConfig(partial);
  if (!options.check) {
    const written = writeBundle(options.out, config);
    process.stdout.write(
      `wrote ${written.length} files under ${options.out}\n`,
    );
    return 0;
  }
  const stale = staleFiles(options.out, config);
  for (const path of stale) {
    process.stderr.write(`out of date: ${path}\n`);
  }
  if (stale.length > 0) {
    process.stderr.write('run `npm run bundle` and commit the result\n');
  }
  return stale.length > 0 ? 1 : 0;
}

const invokedDirectly =
  process.argv[1] !== undefined &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (invokedDirectly) {
  try {
    process.exitCode = main();
  } catch (err) {
    process.stderr.write(`bundle: ${(err as Error).message}\n`);
    process.exitCode = 2;
  }
}
