/**
 * Loads a `--web.config.file` in the Prometheus exporter toolkit's format:
 * `tls_server_config`, `http_server_config` and `basic_auth_users`. Every
 * problem fails with the file, the line and the key, like the main config.
 *
 * Relative file names are resolved against the web config's directory.
 * Keys of the toolkit that this exporter cannot honour (`rate_limit`,
 * `client_allowed_sans`) are refused rather than ignored, because ignoring
 * a protection silently is worse than not starting.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { dirname, resolve } from 'node:path';
import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Node,
} from 'yaml';
import { ConfigError, readConfigText } from '../config/load.js';
import { errText } from '../log.js';
import {
  CIPHER_SUITES,
  CLIENT_AUTH_TYPES,
  CURVES,
  TLS_VERSIONS,
  secureContextOptions,
  type ClientAuthType,
  type TlsServerSettings,
} from './tls.js';

/** A validated web config. */
export interface WebConfig {
  /** Absent for plain HTTP. */
  tls?: TlsServerSettings;
  /** Extra response headers, by canonical name. */
  headers: Record<string, string>;
  /** bcrypt hashes by user name; empty turns basic auth off. */
  users: Map<string, string>;
  /** As written, if written; only HTTP/1.1 is served either way. */
  http2?: boolean;
  /** The config itself and every file it reads, for change detection. */
  files: string[];
}

/**
 * The headers the toolkit lets a web config set, with their allowed values
 * where those are an enumeration. Anything else, such as Authorization or
 * Content-Type, is refused so a config cannot break the protocol.
 */
const ALLOWED_HEADERS: Record<string, readonly string[] | null> = {
  'Strict-Transport-Security': null,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': null,
  'Content-Security-Policy': null,
};

const REFUSED: Record<string, string> = {
  rate_limit:
    'is not supported by this exporter; rate-limit in a reverse proxy',
  'tls_server_config.client_allowed_sans':
    'is not supported by this exporter; ' +
    'issue client certificates from a dedicated CA instead',
};

const BCRYPT_HASH = /^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/;

interface Walk {
  file: string;
  dir: string;
  lines: LineCounter;
  files: string[];
}

interface Entry {
  path: string;
  key: Node;
  value: Node | null;
}

function lineOf(w: Walk, node: Node | null | undefined): number | undefined {
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : w.lines.linePos(offset).line;
}

function fail(w: Walk, node: Node | null, path: string, detail: string): never {
  throw new ConfigError(w.file, lineOf(w, node), path, detail);
}

/** Reads and validates a web config, and the files it names. */
export function loadWebConfig(file: string): WebConfig {
  return parseWebConfig(readConfigText(file), file);
}

/** Parses web config text; relative paths resolve against `file`'s folder. */
export function parseWebConfig(text: string, file: string): WebConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const w: Walk = { file, dir: dirname(resolve(file)), lines, files: [] };
  w.files.push(resolve(file));
  const first = doc.errors[0];
  if (first) {
    const line = lines.linePos(first.pos[0]).line;
    throw new ConfigError(file, line, '(yaml)', first.message.split('\n')[0]!);
  }

  const config: WebConfig = {
    headers: {},
    users: new Map(),
    files: w.files,
  };
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return config;

  const top = entries(w, root, '', [
    'tls_server_config',
    'http_server_config',
    'basic_auth_users',
    'rate_limit',
  ]);
  const tls = top.get('tls_server_config');
  if (tls) config.tls = tlsSettings(w, tls);
  const http = top.get('http_server_config');
  if (http) Object.assign(config, httpSettings(w, http));
  const users = top.get('basic_auth_users');
  if (users) config.users = basicAuthUsers(w, users);
  return config;
}

/** The entries of a mapping, refusing keys outside `allowed`. */
function entries(
  w: Walk,
  node: Node | null,
  path: string,
  allowed: readonly string[] | null,
): Map<string, Entry> {
  const result = new Map<string, Entry>();
  if (node === null || (isScalar(node) && node.value === null)) return result;
  if (!isMap(node)) fail(w, node, path || '(top)', 'must be a mapping');
  for (const pair of node.items) {
    const key = pair.key as Node;
    const name = isScalar(key) ? String(key.value) : '?';
    const keyPath = path ? `${path}.${name}` : name;
    if (allowed && !allowed.includes(name)) {
      fail(w, key, keyPath, 'unknown key');
    }
    const refused = REFUSED[keyPath];
    if (refused) fail(w, key, keyPath, refused);
    result.set(name, { path: keyPath, key, value: pair.value as Node | null });
  }
  return result;
}

function text(w: Walk, entry: Entry): string {
  const raw = isScalar(entry.value) ? entry.value.value : undefined;
  if (typeof raw !== 'string') {
    fail(w, entry.value ?? entry.key, entry.path, 'must be a string');
  }
  return raw;
}

function oneOf(w: Walk, entry: Entry, allowed: readonly string[]): string {
  const value = text(w, entry);
  if (!allowed.includes(value)) {
    const choices = allowed.join(', ');
    fail(
      w,
      entry.value,
      entry.path,
      `must be one of ${choices}, got "${value}"`,
    );
  }
  return value;
}

function flag(w: Walk, entry: Entry): boolean {
  const raw = isScalar(entry.value) ? entry.value.value : undefined;
  if (typeof raw !== 'boolean') {
    fail(w, entry.value ?? entry.key, entry.path, 'must be true or false');
  }
  return raw;
}

function list(w: Walk, entry: Entry, allowed: readonly string[]): string[] {
  if (entry.value === null) return [];
  if (!isSeq(entry.value)) fail(w, entry.value, entry.path, 'must be a list');
  return entry.value.items.map((item, i) => {
    const path = `${entry.path}[${i}]`;
    return oneOf(w, { path, key: entry.key, value: item as Node }, allowed);
  });
}

/** Reads a named file, recording it for change detection. */
function fileText(w: Walk, entry: Entry): string {
  const name = text(w, entry);
  if (name === '') fail(w, entry.value, entry.path, 'must not be empty');
  const path = resolve(w.dir, name);
  w.files.push(path);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return fail(w, entry.value, entry.path, `cannot read ${path} (${code})`);
  }
}

/** PEM text given inline (`inline`) or by file (`fileKey`), not both. */
function pem(
  w: Walk,
  keys: Map<string, Entry>,
  inline: string,
  fileKey: string,
): string | undefined {
  const direct = keys.get(inline);
  const named = keys.get(fileKey);
  if (direct && named) {
    fail(w, named.key, named.path, `cannot be given together with ${inline}`);
  }
  if (named) return fileText(w, named);
  return direct ? text(w, direct) : undefined;
}

const TLS_KEYS = [
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_ca_file',
  'client_auth_type',
  'client_allowed_sans',
  'min_version',
  'max_version',
  'cipher_suites',
  'prefer_server_cipher_suites',
  'curve_preferences',
];

/** Keys whose presence turns TLS on, as in the toolkit. */
const TLS_ENABLING = TLS_KEYS.slice(0, 7);

function tlsSettings(w: Walk, section: Entry): TlsServerSettings | undefined {
  const keys = entries(w, section.value, section.path, TLS_KEYS);
  if (!TLS_ENABLING.some((k) => keys.has(k))) return undefined;

  const certPem = pem(w, keys, 'cert', 'cert_file');
  const keyPem = pem(w, keys, 'key', 'key_file');
  const clientCaPem = pem(w, keys, 'client_ca', 'client_ca_file');
  if (certPem === undefined) {
    fail(w, section.key, section.path, 'needs cert_file (or cert)');
  }
  if (keyPem === undefined) {
    fail(w, section.key, section.path, 'needs key_file (or key)');
  }

  const get = (name: string) => keys.get(name);
  const authEntry = get('client_auth_type');
  const settings: TlsServerSettings = {
    certPem,
    keyPem,
    clientAuthType: authEntry
      ? (oneOf(w, authEntry, CLIENT_AUTH_TYPES) as ClientAuthType)
      : 'NoClientCert',
    minVersion: version(w, get('min_version'), 'TLS12'),
    maxVersion: version(w, get('max_version'), 'TLS13'),
    cipherSuites: cipherList(w, get('cipher_suites')),
    preferServerCipherSuites: booleanOr(
      w,
      get('prefer_server_cipher_suites'),
      true,
    ),
    curvePreferences: curveList(w, get('curve_preferences')),
  };
  if (clientCaPem !== undefined) settings.clientCaPem = clientCaPem;
  checkClientAuth(w, section, keys, settings);
  checkUsable(w, section, keys, settings);
  return settings;
}

function version(w: Walk, entry: Entry | undefined, fallback: string): string {
  return entry ? oneOf(w, entry, Object.keys(TLS_VERSIONS)) : fallback;
}

function cipherList(w: Walk, entry: Entry | undefined): string[] {
  return entry ? list(w, entry, Object.keys(CIPHER_SUITES)) : [];
}

function curveList(w: Walk, entry: Entry | undefined): string[] {
  return entry ? list(w, entry, Object.keys(CURVES)) : [];
}

function booleanOr(
  w: Walk,
  entry: Entry | undefined,
  fallback: boolean,
): boolean {
  return entry ? flag(w, entry) : fallback;
}

/**
 * A CA without a policy that asks for certificates is a mistake, and a
 * verifying policy without a CA would trust every public CA for clients.
 */
function checkClientAuth(
  w: Walk,
  section: Entry,
  keys: Map<string, Entry>,
  settings: TlsServerSettings,
): void {
  const type = settings.clientAuthType;
  const caEntry = keys.get('client_ca_file') ?? keys.get('client_ca');
  if (caEntry && type === 'NoClientCert') {
    const detail = 'needs client_auth_type other than NoClientCert';
    fail(w, caEntry.key, caEntry.path, detail);
  }
  const verifies =
    type === 'VerifyClientCertIfGiven' || type === 'RequireAndVerifyClientCert';
  if (verifies && !caEntry) {
    const at = keys.get('client_auth_type') ?? section;
    fail(w, at.key, at.path, `${type} needs client_ca_file (or client_ca)`);
  }
}

/** Builds a context once so a bad key, certificate or cipher fails now. */
function checkUsable(
  w: Walk,
  section: Entry,
  keys: Map<string, Entry>,
  settings: TlsServerSettings,
): void {
  const minRank = Object.keys(TLS_VERSIONS).indexOf(settings.minVersion);
  const maxRank = Object.keys(TLS_VERSIONS).indexOf(settings.maxVersion);
  if (minRank > maxRank) {
    const at = keys.get('min_version')!;
    fail(w, at.value, at.path, `is above max_version ${settings.maxVersion}`);
  }
  try {
    createSecureContext(secureContextOptions(settings));
  } catch (err) {
    const at = keys.get('cert_file') ?? keys.get('cert') ?? section;
    const detail = `unusable certificate, key or CA: ${errText(err)}`;
    fail(w, at.value, at.path, detail);
  }
}

function httpSettings(w: Walk, section: Entry): Partial<WebConfig> {
  const keys = entries(w, section.value, section.path, ['headers', 'http2']);
  const result: Partial<WebConfig> = {};
  const http2 = keys.get('http2');
  if (http2) result.http2 = flag(w, http2);
  const headers = keys.get('headers');
  if (headers) result.headers = headerValues(w, headers);
  return result;
}

function headerValues(w: Walk, section: Entry): Record<string, string> {
  const names = Object.keys(ALLOWED_HEADERS);
  const result: Record<string, string> = {};
  for (const entry of entries(w, section.value, section.path, null).values()) {
    const given = entry.path.slice(section.path.length + 1);
    const name = names.find((n) => n.toLowerCase() === given.toLowerCase());
    if (!name) {
      const detail = `cannot be set; allowed headers are ${names.join(', ')}`;
      fail(w, entry.key, entry.path, detail);
    }
    const value = entry.value === null ? '' : text(w, entry);
    if (value === '') continue;
    const allowed = ALLOWED_HEADERS[name];
    if (allowed && !allowed.includes(value)) {
      const choices = allowed.join(', ');
      const detail = `must be one of ${choices}, got "${value}"`;
      fail(w, entry.value, entry.path, detail);
    }
    if (/[^\t\x20-\x7e]/.test(value)) {
      const detail = 'has characters not allowed in a header';
      fail(w, entry.value, entry.path, detail);
    }
    result[name] = value;
  }
  return result;
}

function basicAuthUsers(w: Walk, section: Entry): Map<string, string> {
  const users = new Map<string, string>();
  for (const entry of entries(w, section.value, section.path, null).values()) {
    const name = entry.path.slice(section.path.length + 1);
    if (name === '' || name.includes(':')) {
      const detail = 'a user name must be non-empty and without ":"';
      fail(w, entry.key, entry.path, detail);
    }
    const hash = text(w, entry);
    // The value is a secret: say what is wrong, never echo it.
    if (!BCRYPT_HASH.test(hash)) {
      const detail = 'must be a bcrypt hash ($2y$10$... or $2b$...)';
      fail(w, entry.value, entry.path, detail);
    }
    users.set(name, hash);
  }
  return users;
}
