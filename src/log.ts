/**
 * A small structured logger: logfmt or JSON lines on stderr, with fixed keys
 * (`ts`, `level`, `component`, `msg`, then fields). Callers never pass user
 * keys or client addresses; see `maskAddress` and `hashKey` for those.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'logfmt' | 'json';
export type Fields = Record<string, string | number | boolean | undefined>;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines carry `component=name`. */
  child(component: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  write?: (line: string) => void;
}

function logfmtValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[^\s"=\\]+$/.test(s) ? s : JSON.stringify(s);
}

function formatLine(
  format: LogFormat,
  record: Record<string, unknown>,
): string {
  if (format === 'json') return JSON.stringify(record);
  return Object.entries(record)
    .map(([k, v]) => `${k}=${logfmtValue(v as string | number | boolean)}`)
    .join(' ');
}

export function createLogger(
  options: LoggerOptions = {},
  component?: string,
): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'logfmt';
  const write =
    options.write ?? ((line: string) => process.stderr.write(line + '\n'));

  const emit = (lvl: LogLevel, msg: string, fields: Fields = {}): void => {
    if (RANK[lvl] < RANK[level]) return;
    const record: Record<string, unknown> = {
      ts: new Date().toISOString(),
      level: lvl,
    };
    if (component) record.component = component;
    record.msg = msg;
    for (const [k, v] of Object.entries(fields))
      if (v !== undefined) record[k] = v;
    write(formatLine(format, record));
  };

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (name) => createLogger(options, name),
  };
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** Error text for a log field, without a stack. */
export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const hashSecret = randomBytes(32);

/**
 * A keyed hash of a user key, for log lines that must tell users apart
 * without naming them. The key lives only in this process.
 */
export function hashKey(value: string): string {
  return createHmac('sha256', hashSecret)
    .update(value)
    .digest('hex')
    .slice(0, 12);
}

/** An IPv4 address with its last octet zeroed, an IPv6 one cut to /48. */
export function maskAddress(address: string | undefined): string {
  if (!address) return '';
  const v4 = address.replace(/^::ffff:/i, '');
  if (isIPv4(v4)) return v4.replace(/\.\d+$/, '.0');
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) return 'invalid';
  const groups = expandIPv6(bare).slice(0, 3);
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  return `${groups.map((g) => g.toString(16)).join(':')}::`;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` filled in. */
function expandIPv6(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').flatMap(groupsOf);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/** One group, or the two groups of an embedded IPv4 tail. */
function groupsOf(part: string): number[] {
  if (!part.includes('.')) return [parseInt(part, 16)];
  const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}
