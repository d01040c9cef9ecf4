import { readFileSync } from 'node:fs';

/** The package version, read once from package.json beside src/ or dist/. */
function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(
        readFileSync(new URL(rel, import.meta.url), 'utf8'),
      ) as { name?: string; version?: string };
      if (pkg.name === 'inference-exporter' && pkg.version) return pkg.version;
    } catch {
      // Not at this depth; try the next.
    }
  }
  return 'unknown';
}

export const VERSION = readVersion();
