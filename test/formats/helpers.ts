/** Shared by the format tests: fixture lines and a client-address check. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSource, type SourceConfig } from '../../src/config/schema.js';

export const FIXTURES = join(import.meta.dirname, 'fixtures');

/** A fixture file's text. */
export function fixtureText(format: string, file: string): string {
  return readFileSync(join(FIXTURES, format, file), 'utf8');
}

/** A fixture file's non-empty lines. */
export function fixtureLines(format: string, file: string): string[] {
  return fixtureText(format, file)
    .split('\n')
    .filter((line) => line !== '');
}

/** Every IPv4 address in a text, with or without a port. */
export function ipv4Addresses(text: string): string[] {
  return [...new Set(text.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [])];
}

/** A source with the schema's defaults, changed by `over`. */
export function source(
  over: (s: SourceConfig) => void = () => {},
): SourceConfig {
  const s = defaultSource(['x']);
  over(s);
  return s;
}

/** Read time handed to parsers; no fixture line is from this instant. */
export const NOW = Date.UTC(2026, 0, 1);
