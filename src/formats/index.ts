/**
 * One entry point for every line format: a source names its format and
 * gets a parser turning each line into the same events. KServe's logger
 * posts events over HTTP instead of writing lines; see `kserve.ts`.
 */
import type { SourceConfig } from '../config/schema.js';
import { EnvoyParser, type EnvoyKeys } from './envoy.js';
import type { LineResult } from './events.js';
import { JsonLineParser } from './jsonl.js';
import { NginxParser, type NginxKeys } from './nginx.js';
import { RegexLineParser } from './regex.js';
import {
  TorchServeAccessParser,
  TorchServeMetricsParser,
} from './torchserve.js';

export const LINE_FORMATS = [
  'jsonl',
  'torchserve-access',
  'torchserve-metrics',
  'nginx',
  'envoy',
  'regex',
] as const;
export type LineFormat = (typeof LINE_FORMATS)[number];

/**
 * Every reason a format gives for skipping a line that is well formed but
 * not an event: the `reason` label values of skipped lines.
 */
export const SKIP_REASONS = [
  'blank',
  'other_type',
  'other_path',
  'not_access',
  'not_metric',
  'other_metric',
  'no_match',
  'awaiting_response',
  'late_request',
] as const;

/** Anything that turns a line into an event. */
export interface LineParser {
  /** Parses one line; `nowMs` stands in for a time the line lacks. */
  parse(line: string, nowMs: number): LineResult;
}

/** Everything a source may say about how its lines are read. */
export interface ParserOptions {
  /**
   * The source: `jsonl` uses its field mapping; every format uses its
   * `defaults` for labels a line lacks; `regex` also its `type` and the
   * mapping's `timeUnit` and `latencyUnit`.
   */
  source: SourceConfig;
  /**
   * torchserve-access, nginx, envoy: patterns over the request path with
   * named groups `model`, `version`, `scene`; the first match wins and a
   * path none matches is skipped. Each format has a default.
   */
  pathRegex?: string | readonly string[];
  /** regex: the line pattern, with named groups (see `REGEX_GROUPS`). */
  pattern?: string;
  /** torchserve-metrics: the metric counted as one inference. */
  latencyMetric?: string;
  /** nginx, envoy: the model server's time (default) or the proxy's total. */
  latencyFrom?: 'upstream' | 'total';
  /** Minutes east of UTC of log times that carry no zone (default 0). */
  utcOffsetMinutes?: number;
  /** nginx: renamed keys of the JSON log object. */
  nginxKeys?: Partial<NginxKeys>;
  /** envoy: renamed keys of the JSON log object. */
  envoyKeys?: Partial<EnvoyKeys>;
}

/**
 * A parser for one source. Throws, naming the option and the bad value,
 * when a pattern does not compile or cannot yield a model.
 */
export function createParser(
  format: LineFormat,
  options: ParserOptions,
): LineParser {
  const { source, utcOffsetMinutes } = options;
  const defaults = source.defaults;
  switch (format) {
    case 'jsonl':
      return new JsonLineParser(source);
    case 'torchserve-access':
      return new TorchServeAccessParser({
        defaults,
        pathRegex: options.pathRegex,
        utcOffsetMinutes,
      });
    case 'torchserve-metrics':
      return new TorchServeMetricsParser({
        defaults,
        latencyMetric: options.latencyMetric,
        utcOffsetMinutes,
      });
    case 'nginx':
      return new NginxParser({
        ...httpOptions(options),
        keys: options.nginxKeys,
      });
    case 'envoy':
      return new EnvoyParser({
        ...httpOptions(options),
        keys: options.envoyKeys,
      });
    case 'regex':
      return regexParser(options);
    default:
      throw new Error(
        `format: must be one of ${LINE_FORMATS.join(', ')}, got "${String(format)}"`,
      );
  }
}

function httpOptions(options: ParserOptions) {
  return {
    defaults: options.source.defaults,
    pathRegex: options.pathRegex,
    latencyFrom: options.latencyFrom,
    utcOffsetMinutes: options.utcOffsetMinutes,
  };
}

function regexParser(options: ParserOptions): RegexLineParser {
  const { source } = options;
  if (options.pattern === undefined || options.pattern === '') {
    throw new Error('pattern: required for format regex');
  }
  return new RegexLineParser({
    pattern: options.pattern,
    type: source.type,
    defaults: source.defaults,
    timeUnit: source.fields.timeUnit,
    latencyUnit: source.fields.latencyUnit,
    utcOffsetMinutes: options.utcOffsetMinutes,
  });
}

export type { EnvoyKeys, EnvoyOptions } from './envoy.js';
export type { NginxKeys, NginxOptions } from './nginx.js';
export type { RegexOptions } from './regex.js';
export type {
  TorchServeAccessOptions,
  TorchServeMetricsOptions,
} from './torchserve.js';
export type { KServeOptions, KServeRouterOptions } from './kserve.js';

/** The parser options a configured source asks for. */
export function parserOptions(source: SourceConfig): ParserOptions {
  return {
    source,
    pathRegex: source.pathRegex.length > 0 ? source.pathRegex : undefined,
    pattern: source.pattern || undefined,
    latencyMetric: source.latencyMetric,
    latencyFrom: source.latencyFrom,
    utcOffsetMinutes: source.utcOffsetMinutes,
  };
}
