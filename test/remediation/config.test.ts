import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { defaultRemediationConfig } from '../../src/remediation/config.js';
import {
  loadRemediationConfig,
  loadRemediationConfigFile,
  parseRemediationConfig,
} from '../../src/remediation/config-load.js';

const FULL = `
sources:
  - paths: [/var/log/model-server/*.jsonl]
remediation:
  enabled: true
  dry_run: true
  max_actions_per_hour: 6
  max_body_bytes: 65536
  rules:
    - name: restart-model-server
      match: { alertname: InferenceModelServerDown, action: restart }
      cooldown_seconds: 1200
      cooldown_by: [target]
      max_actions_per_hour: 2
      action:
        type: compose-restart
        service: model-server
        compose_command: [docker-compose]
        project: inference
    - name: restart-recommender
      match: { alertname: InferenceModelServerDown, team: search }
      action:
        type: kubernetes-rollout-restart
        deployment: recommender
        namespace: shop
        timeout_seconds: 120
    - name: failover-recommender
      match: { alertname: InferenceQPSDrop }
      action:
        type: failover
        standby: recommender-standby
        url: http://traffic-switch.internal:8080/active
        method: PUT
        headers: { authorization: Bearer abc }
    - name: page-script
      match: { alertname: InferenceErrorRatioHigh }
      action: { type: command, argv: [/usr/local/bin/drain, --fast] }
`;

describe('parseRemediationConfig', () => {
  it('reads every key of the remediation section', () => {
    const config = parseRemediationConfig(FULL, 'c.yml');
    expect(config).toEqual({
      enabled: true,
      dryRun: true,
      maxActionsPerHour: 6,
      maxBodyBytes: 65536,
      rules: [
        {
          name: 'restart-model-server',
          match: { alertname: 'InferenceModelServerDown', action: 'restart' },
          cooldownSeconds: 1200,
          cooldownBy: ['target'],
          maxActionsPerHour: 2,
          action: {
            type: 'compose-restart',
            service: 'model-server',
            composeCommand: ['docker-compose'],
            composeFile: '',
            project: 'inference',
            timeoutSeconds: 60,
          },
        },
        {
          name: 'restart-recommender',
          match: { alertname: 'InferenceModelServerDown', team: 'search' },
          cooldownSeconds: 900,
          cooldownBy: [],
          maxActionsPerHour: 0,
          action: {
            type: 'kubernetes-rollout-restart',
            deployment: 'recommender',
            namespace: 'shop',
            kubectl: 'kubectl',
            context: '',
            timeoutSeconds: 120,
          },
        },
        {
          name: 'failover-recommender',
          match: { alertname: 'InferenceQPSDrop' },
          cooldownSeconds: 900,
          cooldownBy: [],
          maxActionsPerHour: 0,
          action: {
            type: 'failover',
            standby: 'recommender-standby',
            url: 'http://traffic-switch.internal:8080/active',
            method: 'PUT',
            headers: { authorization: 'Bearer abc' },
            file: '',
            timeoutSeconds: 10,
          },
        },
        {
          name: 'page-script',
          match: { alertname: 'InferenceErrorRatioHigh' },
          cooldownSeconds: 900,
          cooldownBy: [],
          maxActionsPerHour: 0,
          action: {
            type: 'command',
            argv: ['/usr/local/bin/drain', '--fast'],
            timeoutSeconds: 60,
          },
        },
      ],
    });
  });

  it('gives the defaults without a remediation section', () => {
    expect(parseRemediationConfig('sources: []\n')).toEqual(
      defaultRemediationConfig(),
    );
    expect(parseRemediationConfig('')).toEqual(defaultRemediationConfig());
    expect(defaultRemediationConfig()).toEqual({
      enabled: false,
      dryRun: false,
      maxActionsPerHour: 10,
      maxBodyBytes: 262144,
      rules: [],
    });
  });

  const rule = (lines: string) =>
    `remediation:\n  rules:\n    - name: r1\n      match: { alertname: A }\n${lines}`;

  it.each([
    [
      'remediation:\n  dry_runn: true\n',
      'c.yml:2: remediation.dry_runn: unknown key',
    ],
    [
      'remediation:\n  dry_run: "yes"\n',
      'c.yml:2: remediation.dry_run: must be true or false, got "yes"',
    ],
    [
      'remediation:\n  max_actions_per_hour: 0\n',
      'c.yml:2: remediation.max_actions_per_hour: must be >= 1, got 0',
    ],
    [
      'remediation:\n  max_actions_per_hour: 2.5\n',
      'c.yml:2: remediation.max_actions_per_hour: must be a whole number, got 2.5',
    ],
    [
      'remediation:\n  rules: {}\n',
      'c.yml:2: remediation.rules: must be a list, got {}',
    ],
    [
      rule('      action: { type: reboot }\n'),
      'c.yml:5: remediation.rules[0].action.type: must be one of command, compose-restart, kubernetes-rollout-restart, failover, got "reboot"',
    ],
    [
      rule('      action: { type: command, argv: [] }\n'),
      'c.yml:5: remediation.rules[0].action.argv: needs at least 1 entry',
    ],
    [
      rule('      action: { type: command, argv: [x], shell: true }\n'),
      'c.yml:5: remediation.rules[0].action.shell: unknown key',
    ],
    [
      rule('      action: { type: compose-restart }\n'),
      'c.yml:5: remediation.rules[0].action.service: is required',
    ],
    [
      rule(
        '      action: { type: failover, standby: b, url: "http://x/", file: /tmp/a }\n',
      ),
      'c.yml:5: remediation.rules[0].action: needs exactly one of url or file',
    ],
    [
      rule('      action: { type: failover, standby: b, url: "ftp://x/" }\n'),
      'c.yml:5: remediation.rules[0].action.url: must be an http or https URL, got "ftp://x/"',
    ],
    [
      rule(
        '      action: { type: failover, standby: b, file: /a, method: GET }\n',
      ),
      'c.yml:5: remediation.rules[0].action.method: must be one of POST, PUT, got "GET"',
    ],
    [
      rule(
        '      cooldown_seconds: -5\n      action: { type: command, argv: [x] }\n',
      ),
      'c.yml:5: remediation.rules[0].cooldown_seconds: must be a number > 0, got -5',
    ],
    [
      rule(
        '      cooldown_by: [target, "bad-name"]\n      action: { type: command, argv: [x] }\n',
      ),
      'c.yml:5: remediation.rules[0].cooldown_by[1]: is not a label name: "bad-name"',
    ],
    [
      'remediation:\n  rules:\n    - name: r1\n      match: {}\n      action: { type: command, argv: [x] }\n',
      'c.yml:4: remediation.rules[0].match: needs at least one label to match',
    ],
    [
      'remediation:\n  rules:\n    - name: none\n      match: { a: b }\n      action: { type: command, argv: [x] }\n',
      'c.yml:3: remediation.rules[0].name: must be letters, digits, "_", "." or "-" and not "none", got "none"',
    ],
    [
      'remediation:\n  rules:\n    - name: r1\n      match: { a: b }\n      action: { type: command, argv: [x] }\n' +
        '    - name: r1\n      match: { a: c }\n      action: { type: command, argv: [y] }\n',
      'c.yml:6: remediation.rules[1].name: duplicate rule name "r1"',
    ],
    ['remediation: [\n', 'c.yml:2: (yaml): '],
  ])('names the bad key of %j', (text, message) => {
    let error: unknown;
    try {
      parseRemediationConfig(text, 'c.yml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message.startsWith(message)).toBe(true);
  });
});

describe('loadRemediationConfig', () => {
  it('validates an already parsed section and names the file', () => {
    const section = {
      rules: [
        {
          name: 'r',
          match: { alertname: 'A' },
          action: { type: 'command', argv: 'x' },
        },
      ],
    };
    expect(() => loadRemediationConfig(section, 'exporter.yml')).toThrow(
      'exporter.yml: remediation.rules[0].action.argv: must be a list, got "x"',
    );
    expect(loadRemediationConfig(null)).toEqual(defaultRemediationConfig());
  });

  it('reads a file and reports one it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'remediation-config-'));
    try {
      const file = join(dir, 'exporter.yml');
      writeFileSync(file, 'remediation:\n  enabled: true\n');
      expect(loadRemediationConfigFile(file).enabled).toBe(true);
      expect(() => loadRemediationConfigFile(join(dir, 'missing.yml'))).toThrow(
        /missing\.yml: \(file\): cannot read \(ENOENT\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
