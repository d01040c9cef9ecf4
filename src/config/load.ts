/**
 * Loads the YAML configuration, checking every key against the defaults in
 * `schema.ts`: an unknown key, a wrong type or a bad value fails start-up
 * with the file, the line and the key's full path.
 */
import { readFileSync } from 'node:fs';
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Node,
} from 'yaml';
import { LINE_FORMATS, createParser, parserOptions } from '../formats/index.js';
import { errText } from '../log.js';
import { loadRemediationNode } from '../remediation/config-load.js';
import { ProbeConfigError, parseProbeConfig } from '../sources/probe.js';
import { defaultConfig, defaultSource, type Config } from './schema.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly key: string,
    detail: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${key}: ${detail}`);
    this.name = 'ConfigError';
  }
}

/** Values a string key may take, by its snake_case path without indexes. */
const ENUMS: Record<string, readonly string[]> = {
  'sources.type': ['auto', 'inference', 'feedback'],
  'sources.format': LINE_FORMATS,
  'sources.latency_from': ['upstream', 'total'],
  'sources.fields.time_unit': ['auto', 'iso', 's', 'ms'],
  'sources.fields.latency_unit': ['s', 'ms', 'us'],
};

/** Numbers with their own bounds instead of ">= 0". */
const RANGES: Record<string, [number, number]> = {
  'sources.utc_offset_minutes': [-720, 840],
};

/** What each list holds, shown by an example value of the element type. */
const ARRAY_ELEMENTS: Record<string, number | string> = {
  'sources.paths': '',
  'sources.path_regex': '',
  'attribution.k': 0,
};

/** Numbers that must be positive; the rest must be non-negative. */
const POSITIVE = new Set([
  'positions.sync_interval_seconds',
  'tail.poll_interval_millis',
  'tail.max_line_bytes',
  'attribution.window_seconds',
  'attribution.max_pending_lists',
  'attribution.k',
  'window.seconds',
  'host.interval_seconds',
  'limits.max_label_sets',
  'limits.max_outcomes_per_label_set',
]);

const WHOLE = new Set([
  'attribution.max_held_feedback',
  'sources.utc_offset_minutes',
  'attribution.k',
  'window.seconds',
  'attribution.max_pending_lists',
  'limits.max_label_sets',
  'limits.max_outcomes_per_label_set',
]);

function camel(key: string): string {
  return key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

interface Walk {
  file: string;
  lines: LineCounter;
}

function lineOf(w: Walk, node: Node | null | undefined): number | undefined {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : w.lines.linePos(offset).line;
}

/** A config file's text, or a ConfigError naming the file and the reason. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(file, undefined, '(file)', `cannot read (${code})`);
  }
}

/** Reads and validates a config file. */
export function loadConfigFile(file: string): Config {
  return parseConfig(readConfigText(file), file);
}

/** Parses config text; `file` names it in errors. */
export function parseConfig(text: string, file = 'config'): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const w: Walk = { file, lines };
  const first = doc.errors[0];
  if (first) {
    const line = lines.linePos(first.pos[0]).line;
    throw new ConfigError(file, line, '(yaml)', first.message.split('\n')[0]!);
  }
  const config = defaultConfig();
  if (
    doc.contents === null ||
    (isScalar(doc.contents) && doc.contents.value === null)
  ) {
    return config;
  }
  merge(w, doc.contents, config as unknown as Record<string, unknown>, '', '');
  return config;
}

function merge(
  w: Walk,
  node: Node,
  target: Record<string, unknown>,
  path: string,
  rule: string,
): void {
  if (!isMap(node))
    throw new ConfigError(
      w.file,
      lineOf(w, node),
      path || '(top)',
      'must be a mapping',
    );
  for (const pair of node.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '?';
    const keyPath = path ? `${path}.${key}` : key;
    const keyRule = rule ? `${rule}.${key}` : key;
    const field = camel(key);
    if (!Object.hasOwn(target, field)) {
      const known = Object.keys(target)
        .map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
        .join(', ');
      throw new ConfigError(
        w.file,
        lineOf(w, keyNode),
        keyPath,
        `unknown key (known here: ${known})`,
      );
    }
    target[field] = value(
      w,
      pair.value as Node,
      target[field],
      keyPath,
      keyRule,
    );
  }
}

function value(
  w: Walk,
  node: Node | null,
  current: unknown,
  path: string,
  rule: string,
): unknown {
  const line = lineOf(w, node);
  const fail = (detail: string): never => {
    throw new ConfigError(w.file, line, path, detail);
  };
  if (rule === 'sources') return sources(w, node, path);
  if (rule === 'probes') return probes(w, node, path);
  if (rule === 'remediation') return loadRemediationNode(node, w.file, w.lines);
  if (Array.isArray(current)) {
    if (!isSeq(node)) return fail('must be a list');
    const element = ARRAY_ELEMENTS[rule] ?? '';
    return node.items.map((item, i) =>
      value(w, item as Node, element, `${path}[${i}]`, rule),
    );
  }
  if (current !== null && typeof current === 'object') {
    if (!node) return fail('must be a mapping');
    merge(w, node, current as Record<string, unknown>, path, rule);
    return current;
  }
  const raw = isScalar(node) ? node.value : undefined;
  if (typeof current === 'number') return number(raw, rule, fail);
  if (typeof current === 'boolean') {
    return typeof raw === 'boolean'
      ? raw
      : fail(`must be true or false, got ${JSON.stringify(raw)}`);
  }
  if (typeof raw !== 'string')
    return fail(`must be a string, got ${JSON.stringify(raw ?? null)}`);
  const allowed = ENUMS[rule];
  if (allowed && !allowed.includes(raw)) {
    return fail(`must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  if (rule.endsWith('_exclude') || rule.endsWith('_include')) {
    try {
      new RegExp(raw);
    } catch {
      return fail(`is not a valid regular expression: "${raw}"`);
    }
  }
  return raw;
}

function number(
  raw: unknown,
  rule: string,
  fail: (d: string) => never,
): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    return fail(`must be a number, got ${JSON.stringify(raw ?? null)}`);
  }
  if (POSITIVE.has(rule) && raw <= 0) return fail(`must be > 0, got ${raw}`);
  const range = RANGES[rule];
  if (range && (raw < range[0] || raw > range[1])) {
    return fail(`must be between ${range[0]} and ${range[1]}, got ${raw}`);
  }
  if (!range && raw < 0) return fail(`must be >= 0, got ${raw}`);
  if (WHOLE.has(rule) && !Number.isInteger(raw))
    return fail(`must be a whole number, got ${raw}`);
  return raw;
}

function sources(w: Walk, node: Node | null, path: string): unknown {
  if (!isSeq(node))
    throw new ConfigError(w.file, lineOf(w, node), path, 'must be a list');
  return node.items.map((item, i) => {
    const source = defaultSource();
    const itemPath = `${path}[${i}]`;
    merge(
      w,
      item as Node,
      source as unknown as Record<string, unknown>,
      itemPath,
      'sources',
    );
    if (source.paths.length === 0) {
      throw new ConfigError(
        w.file,
        lineOf(w, item as Node),
        `${itemPath}.paths`,
        'needs at least one file or glob',
      );
    }
    try {
      createParser(source.format, parserOptions(source));
    } catch (err) {
      throw new ConfigError(
        w.file,
        lineOf(w, item as Node),
        itemPath,
        errText(err),
      );
    }
    return source;
  });
}

/** Probe targets are checked by the probe module; errors get their line here. */
function probes(w: Walk, node: Node | null, path: string): unknown {
  try {
    return parseProbeConfig(node ? node.toJSON() : undefined, path);
  } catch (err) {
    if (!(err instanceof ProbeConfigError)) throw err;
    throw new ConfigError(
      w.file,
      lineOf(w, nodeAt(node, err.key)),
      err.key,
      err.detail,
    );
  }
}

/** The node a key path such as `probes[1].url` names, as near as it exists. */
function nodeAt(node: Node | null, keyPath: string): Node | null {
  const m = /^[^[]+\[(\d+)\](?:\.([\w.]+))?/.exec(keyPath);
  if (!m || !isSeq(node)) return node;
  const item = node.items[Number(m[1])] as Node | undefined;
  if (!item || !m[2] || !isMap(item)) return item ?? node;
  const pair = item.items.find(
    (p) => isScalar(p.key) && p.key.value === m[2]!.split('.')[0],
  );
  return (pair?.key as Node | undefined) ?? item;
}
