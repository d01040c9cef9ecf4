/**
 * Validates the YAML `remediation:` section over the defaults in
 * `config.ts`: an unknown key, a wrong type or a bad value fails start-up
 * naming the file, the line when known, the key's full path
 * (`remediation.rules[0].action.type`) and the value.
 *
 * ```yaml
 * remediation:
 *   enabled: true
 *   dry_run: false
 *   max_actions_per_hour: 10
 *   rules:
 *     - name: restart-model-server
 *       match: { alertname: InferenceModelServerDown, action: restart }
 *       cooldown_seconds: 900
 *       action: { type: compose-restart, service: model-server }
 * ```
 */
import {
  LineCounter,
  isCollection,
  isMap,
  parseDocument,
  type Node,
} from 'yaml';
import { ConfigError, readConfigText } from '../config/load.js';
import {
  DEFAULT_COMMAND_TIMEOUT_SECONDS,
  DEFAULT_COOLDOWN_SECONDS,
  DEFAULT_FAILOVER_TIMEOUT_SECONDS,
  defaultRemediationConfig,
  type ActionType,
  type FailoverAction,
  type RemediationAction,
  type RemediationConfig,
  type RemediationRule,
} from './config.js';
import { NO_RULE } from './metrics.js';

type Path = Array<string | number>;

/** The line of a key path in the YAML document, when known. */
export type Locate = (path: Path) => number | undefined;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RULE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

const show = (v: unknown): string => JSON.stringify(v ?? null);

function pathText(path: Path): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${p}` : p))
    .join('');
}

/** One mapping of the section, with readers that fail naming the key. */
class Section {
  constructor(
    private readonly file: string,
    private readonly locate: Locate,
    readonly obj: Record<string, unknown>,
    readonly path: Path,
  ) {}

  /** A mapping at `path`, or a failure naming it. */
  static of(file: string, locate: Locate, v: unknown, path: Path): Section {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      const detail = `must be a mapping, got ${show(v)}`;
      throw new ConfigError(file, locate(path), pathText(path), detail);
    }
    return new Section(file, locate, v as Record<string, unknown>, path);
  }

  /** Fails at this mapping, at one of its keys, or deeper (`[key, i]`). */
  fail(at: string | Path | undefined, detail: string): never {
    const rel = at === undefined ? [] : typeof at === 'string' ? [at] : at;
    const path = [...this.path, ...rel];
    throw new ConfigError(this.file, this.locate(path), pathText(path), detail);
  }

  /** The mapping under `key`. */
  section(key: string): Section {
    const path = [...this.path, key];
    return Section.of(this.file, this.locate, this.obj[key], path);
  }

  /** Each mapping of the list under `key`. */
  sections(key: string): Section[] {
    const list = this.obj[key];
    if (list === undefined) return [];
    if (!Array.isArray(list)) {
      return this.fail(key, `must be a list, got ${show(list)}`);
    }
    const at = [...this.path, key];
    return list.map((v, i) =>
      Section.of(this.file, this.locate, v, [...at, i]),
    );
  }

  only(keys: readonly string[]): void {
    for (const key of Object.keys(this.obj)) {
      if (!keys.includes(key)) this.fail(key, 'unknown key');
    }
  }

  text(key: string, fallback?: string): string {
    const v = this.obj[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (v === undefined) return this.fail(key, 'is required');
    if (typeof v !== 'string') {
      return this.fail(key, `must be a string, got ${show(v)}`);
    }
    return v;
  }

  required(key: string): string {
    const s = this.text(key);
    if (s.trim() === '') this.fail(key, 'must not be empty');
    return s;
  }

  flag(key: string, fallback: boolean): boolean {
    const v = this.obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      return this.fail(key, `must be true or false, got ${show(v)}`);
    }
    return v;
  }

  count(key: string, fallback: number, min: number): number {
    const v = this.obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      return this.fail(key, `must be a whole number, got ${show(v)}`);
    }
    if (v < min) this.fail(key, `must be >= ${min}, got ${v}`);
    return v;
  }

  seconds(key: string, fallback: number): number {
    const v = this.obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      return this.fail(key, `must be a number > 0, got ${show(v)}`);
    }
    return v;
  }

  /** A list of non-empty strings; `undefined` when absent. */
  list(key: string, minLength: number): string[] | undefined {
    const v = this.obj[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      return this.fail(key, `must be a list, got ${show(v)}`);
    }
    if (v.length < minLength) {
      this.fail(key, `needs at least ${minLength} entry`);
    }
    return v.map((item, i) => {
      if (typeof item !== 'string' || item.trim() === '') {
        const detail = `must be a non-empty string, got ${show(item)}`;
        return this.fail([key, i], detail);
      }
      return item;
    });
  }

  labelNames(key: string): string[] {
    const names = this.list(key, 0) ?? [];
    names.forEach((name, i) => {
      if (!LABEL_NAME.test(name)) {
        this.fail([key, i], `is not a label name: "${name}"`);
      }
    });
    return names;
  }

  /** A mapping of strings to strings; empty when absent. */
  strings(key: string): Record<string, string> {
    if (this.obj[key] === undefined) return {};
    const inner = this.section(key);
    const out: Record<string, string> = {};
    for (const name of Object.keys(inner.obj)) out[name] = inner.text(name);
    return out;
  }
}

function matchers(rule: Section): Record<string, string> {
  const match = rule.strings('match');
  const names = Object.keys(match);
  // A rule without matchers would act on every alert Alertmanager sends.
  if (names.length === 0) {
    rule.fail('match', 'needs at least one label to match');
  }
  for (const name of names) {
    if (!LABEL_NAME.test(name)) {
      rule.fail(['match', name], 'is not a label name');
    }
  }
  return match;
}

const RULE_KEYS = [
  'name',
  'match',
  'action',
  'cooldown_seconds',
  'cooldown_by',
  'max_actions_per_hour',
];

function readRule(rule: Section): RemediationRule {
  rule.only(RULE_KEYS);
  const name = rule.required('name');
  if (!RULE_NAME.test(name) || name === NO_RULE) {
    const allowed = `letters, digits, "_", "." or "-" and not "${NO_RULE}"`;
    rule.fail('name', `must be ${allowed}, got "${name}"`);
  }
  if (rule.obj.match === undefined) rule.fail('match', 'is required');
  return {
    name,
    match: matchers(rule),
    action: readAction(rule.section('action')),
    cooldownSeconds: rule.seconds('cooldown_seconds', DEFAULT_COOLDOWN_SECONDS),
    cooldownBy: rule.labelNames('cooldown_by'),
    maxActionsPerHour: rule.count('max_actions_per_hour', 0, 0),
  };
}

/** The keys each action type takes besides `type` and `timeout_seconds`. */
const ACTION_KEYS: Record<ActionType, readonly string[]> = {
  command: ['argv'],
  'compose-restart': ['service', 'compose_command', 'compose_file', 'project'],
  'kubernetes-rollout-restart': [
    'deployment',
    'namespace',
    'kubectl',
    'context',
  ],
  failover: ['standby', 'url', 'method', 'headers', 'file'],
};

function actionType(action: Section): ActionType {
  const type = action.text('type');
  if (!Object.hasOwn(ACTION_KEYS, type)) {
    const known = Object.keys(ACTION_KEYS).join(', ');
    action.fail('type', `must be one of ${known}, got "${type}"`);
  }
  return type as ActionType;
}

function readAction(action: Section): RemediationAction {
  const type = actionType(action);
  action.only(['type', 'timeout_seconds', ...ACTION_KEYS[type]]);
  const timeoutSeconds = action.seconds(
    'timeout_seconds',
    type === 'failover'
      ? DEFAULT_FAILOVER_TIMEOUT_SECONDS
      : DEFAULT_COMMAND_TIMEOUT_SECONDS,
  );
  switch (type) {
    case 'command':
      return {
        type,
        argv: action.list('argv', 1) ?? action.fail('argv', 'is required'),
        timeoutSeconds,
      };
    case 'compose-restart':
      return {
        type,
        service: action.required('service'),
        composeCommand: action.list('compose_command', 1) ?? [
          'docker',
          'compose',
        ],
        composeFile: action.text('compose_file', ''),
        project: action.text('project', ''),
        timeoutSeconds,
      };
    case 'kubernetes-rollout-restart':
      return {
        type,
        deployment: action.required('deployment'),
        namespace: action.text('namespace', 'default'),
        kubectl: action.text('kubectl', 'kubectl'),
        context: action.text('context', ''),
        timeoutSeconds,
      };
    case 'failover':
      return readFailover(action, timeoutSeconds);
  }
}

function readFailover(action: Section, timeoutSeconds: number): FailoverAction {
  const url = action.text('url', '');
  const file = action.text('file', '');
  if ((url === '') === (file === '')) {
    action.fail(undefined, 'needs exactly one of url or file');
  }
  if (url !== '' && !/^https?:\/\/[^/]/.test(url)) {
    action.fail('url', `must be an http or https URL, got "${url}"`);
  }
  const method = action.text('method', 'POST');
  if (method !== 'POST' && method !== 'PUT') {
    action.fail('method', `must be one of POST, PUT, got "${method}"`);
  }
  return {
    type: 'failover',
    standby: action.required('standby'),
    url,
    method,
    headers: action.strings('headers'),
    file,
    timeoutSeconds,
  };
}

const SECTION_KEYS = [
  'enabled',
  'dry_run',
  'max_actions_per_hour',
  'max_body_bytes',
  'rules',
];

/**
 * Validates the value of a `remediation:` section, already parsed from
 * YAML, over the defaults; `undefined` or `null` gives the defaults.
 * Throws `ConfigError`; `locate` turns a key path into a line number.
 */
export function loadRemediationConfig(
  value: unknown,
  file = 'config',
  locate: Locate = () => undefined,
): RemediationConfig {
  const config = defaultRemediationConfig();
  if (value === undefined || value === null) return config;
  const section = Section.of(file, locate, value, ['remediation']);
  section.only(SECTION_KEYS);
  config.enabled = section.flag('enabled', config.enabled);
  config.dryRun = section.flag('dry_run', config.dryRun);
  config.maxActionsPerHour = section.count(
    'max_actions_per_hour',
    config.maxActionsPerHour,
    1,
  );
  config.maxBodyBytes = section.count('max_body_bytes', config.maxBodyBytes, 1);
  config.rules = section.sections('rules').map(readRule);

  const seen = new Set<string>();
  config.rules.forEach((rule, i) => {
    if (seen.has(rule.name)) {
      section.fail(['rules', i, 'name'], `duplicate rule name "${rule.name}"`);
    }
    seen.add(rule.name);
  });
  return config;
}

/**
 * Validates the `remediation:` node of a parsed YAML document, with line
 * numbers from `lines`. The main config loader calls this for its
 * `remediation` key; `node` is the key's value (or null when empty).
 */
export function loadRemediationNode(
  node: Node | null | undefined,
  file: string,
  lines: LineCounter,
): RemediationConfig {
  const locate: Locate = (path) => {
    // The deepest node on the path that exists: the bad value itself, or
    // the mapping a missing key belongs in. path[0] is `remediation`.
    for (let n = path.length; n > 1; n--) {
      const found = isCollection(node)
        ? (node.getIn(path.slice(1, n), true) as Node | undefined)
        : undefined;
      const offset = found?.range?.[0];
      if (offset !== undefined) return lines.linePos(offset).line;
    }
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : lines.linePos(offset).line;
  };
  const value: unknown = node ? node.toJSON() : undefined;
  return loadRemediationConfig(value, file, locate);
}

/**
 * Reads the `remediation:` section of YAML text, with line numbers in
 * errors; other top-level keys are left to the main config loader.
 */
export function parseRemediationConfig(
  text: string,
  file = 'config',
): RemediationConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = lines.linePos(first.pos[0]).line;
    const detail = first.message.split('\n')[0]!;
    throw new ConfigError(file, line, '(yaml)', detail);
  }
  const root = doc.contents;
  const node = isMap(root) ? (root.get('remediation', true) as Node) : null;
  return loadRemediationNode(node, file, lines);
}

/** Reads and validates the `remediation:` section of a config file. */
export function loadRemediationConfigFile(file: string): RemediationConfig {
  return parseRemediationConfig(readConfigText(file), file);
}
