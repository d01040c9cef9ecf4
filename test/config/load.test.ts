import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfigFile,
  parseConfig,
} from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/schema.js';

describe('parseConfig', () => {
  it('applies values over the defaults', () => {
    const config = parseConfig(`
sources:
  - paths: [/var/log/model/*.jsonl]
    from_beginning: true
    fields:
      time: ts
      time_unit: ms
attribution:
  window_seconds: 600
  k: [3, 20]
host:
  enabled: false
`);
    const expected = defaultConfig();
    expect(config.attribution).toEqual({
      ...expected.attribution,
      windowSeconds: 600,
      k: [3, 20],
    });
    expect(config.host.enabled).toBe(false);
    expect(config.sources).toHaveLength(1);
    expect(config.sources[0]!.paths).toEqual(['/var/log/model/*.jsonl']);
    expect(config.sources[0]!.fromBeginning).toBe(true);
    expect(config.sources[0]!.fields.time).toBe('ts');
    expect(config.sources[0]!.fields.timeUnit).toBe('ms');
    expect(config.sources[0]!.fields.model).toBe('model');
  });

  it('treats an empty file as all defaults', () => {
    expect(parseConfig('')).toEqual(defaultConfig());
    expect(parseConfig('# nothing\n')).toEqual(defaultConfig());
  });

  it.each([
    [
      'attribution:\n  windw_seconds: 5\n',
      'c.yml:2: attribution.windw_seconds: unknown key',
    ],
    [
      'window:\n  seconds: "300"\n',
      'c.yml:2: window.seconds: must be a number, got "300"',
    ],
    ['window:\n  seconds: 0\n', 'c.yml:2: window.seconds: must be > 0, got 0'],
    [
      'attribution:\n  k: [5, 2.5]\n',
      'c.yml:2: attribution.k[1]: must be a whole number, got 2.5',
    ],
    [
      'host:\n  enabled: yes please\n',
      'c.yml:2: host.enabled: must be true or false, got "yes please"',
    ],
    [
      'sources:\n  - paths: [a]\n    fields:\n      time_unit: days\n',
      'c.yml:4: sources[0].fields.time_unit: must be one of auto, iso, s, ms, got "days"',
    ],
    [
      'sources:\n  - type: feedback\n',
      'c.yml:2: sources[0].paths: needs at least one file or glob',
    ],
    [
      'host:\n  network_device_exclude: "(("\n',
      'c.yml:2: host.network_device_exclude: is not a valid regular expression: "(("',
    ],
    ['window: [1]\n', 'c.yml:1: window: must be a mapping'],
  ])('fails on %j with %s', (text, message) => {
    expect(() => parseConfig(text, 'c.yml')).toThrow(
      new ConfigError('c.yml', 0, '', '').constructor,
    );
    expect(() => parseConfig(text, 'c.yml')).toThrow(message);
  });

  it('names the line of a YAML syntax error', () => {
    expect(() => parseConfig('a: [1,\nb: 2\n', 'bad.yml')).toThrow(
      /^bad\.yml:\d+: \(yaml\): /,
    );
  });
});

describe('loadConfigFile', () => {
  it('reads a file and names it when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ie-config-'));
    try {
      const file = join(dir, 'c.yml');
      writeFileSync(file, 'window:\n  seconds: 60\n');
      expect(loadConfigFile(file).window.seconds).toBe(60);
      expect(() => loadConfigFile(join(dir, 'missing.yml'))).toThrow(
        `${join(dir, 'missing.yml')}: (file): cannot read (ENOENT)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('examples/config.yml', () => {
  it('is a valid configuration with the documented mapping', () => {
    const config = loadConfigFile(
      new URL('../../examples/config.yml', import.meta.url).pathname,
    );
    expect(config.sources).toHaveLength(2);
    expect(config.sources[1]!.type).toBe('feedback');
    expect(config.sources[1]!.fields.item).toBe('event.product.sku');
    expect(config.sources[1]!.fields.model).toBe('model');
    expect(config.attribution).toEqual(defaultConfig().attribution);
  });
});

describe('probes in the config', () => {
  it('reads probe targets with their defaults', () => {
    const config = parseConfig(
      'probes:\n  - name: ranker\n    url: http://127.0.0.1:8080\n',
    );
    expect(config.probes).toHaveLength(1);
    expect(config.probes[0]).toMatchObject({
      name: 'ranker',
      url: 'http://127.0.0.1:8080/health',
      intervalSeconds: 15,
      timeoutSeconds: 5,
    });
  });

  it('names the line and key of a bad probe setting', () => {
    expect(() =>
      parseConfig(
        'probes:\n  - name: ranker\n    url: http://127.0.0.1:8080\n    intervall_seconds: 5\n',
        'c.yml',
      ),
    ).toThrow('c.yml:4: probes[0].intervall_seconds: unknown key');
  });
});

describe('source formats in the config', () => {
  it('accepts the other log formats with their options', () => {
    const config = parseConfig(
      [
        'sources:',
        '  - paths: [/var/log/ts/access.log]',
        '    format: torchserve-access',
        '    utc_offset_minutes: -300',
        '  - paths: [/var/log/app.log]',
        '    format: regex',
        '    pattern: "^(?<time>\\\\S+) (?<model>\\\\S+) (?<latency>\\\\d+)ms$"',
        '',
      ].join('\n'),
    );
    expect(config.sources.map((s) => s.format)).toEqual([
      'torchserve-access',
      'regex',
    ]);
    expect(config.sources[0]!.utcOffsetMinutes).toBe(-300);
  });

  it.each([
    [
      'sources:\n  - paths: [a]\n    format: syslog\n',
      'c.yml:3: sources[0].format: must be one of jsonl, torchserve-access, torchserve-metrics, nginx, envoy, regex, got "syslog"',
    ],
    [
      'sources:\n  - paths: [a]\n    format: regex\n',
      'c.yml:2: sources[0]: pattern: required for format regex',
    ],
    [
      'sources:\n  - paths: [a]\n    utc_offset_minutes: 900\n',
      'c.yml:3: sources[0].utc_offset_minutes: must be between -720 and 840, got 900',
    ],
  ])('fails on %j with %s', (text, message) => {
    expect(() => parseConfig(text, 'c.yml')).toThrow(message);
  });
});

describe('examples/compose/inference-exporter.yml', () => {
  it('probes the demo model server every 15 s, exporting its two counts', () => {
    const config = loadConfigFile(
      new URL('../../examples/compose/inference-exporter.yml', import.meta.url)
        .pathname,
    );
    expect(config.probes).toEqual([
      {
        name: 'model-server',
        url: 'http://model-server:8080/health',
        intervalSeconds: 15,
        timeoutSeconds: 5,
        fields: { allow: ['invoices_served', 'lists_served'], prefix: '' },
      },
    ]);
  });

  it('enables the remediation receiver in dry run with both rules', () => {
    const config = loadConfigFile(
      new URL('../../examples/compose/inference-exporter.yml', import.meta.url)
        .pathname,
    );
    expect(config.remediation.enabled).toBe(true);
    expect(config.remediation.dryRun).toBe(true);
    expect(config.remediation.rules.map((r) => r.name)).toEqual([
      'restart-model-server',
      'failover-recommender',
    ]);
  });
});
