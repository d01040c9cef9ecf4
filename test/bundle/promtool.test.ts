import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_BUNDLE_CONFIG } from '../../src/bundle/config.js';
import { allPanelQueries } from '../../src/bundle/dashboards/queries.js';
import { writeBundle } from '../../src/bundle/main.js';

const run = promisify(execFile);
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bundle-promtool-'));
  writeBundle(dir, DEFAULT_BUNDLE_CONFIG);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function tool(cmd: string, args: string[]): Promise<string> {
  const { stdout, stderr } = await run(cmd, args, { cwd: dir });
  return stdout + stderr;
}

describe('promtool and amtool accept the bundle', () => {
  it('checks prometheus.yml together with its rule files', async () => {
    const out = await tool('promtool', [
      'check',
      'config',
      'prometheus/prometheus.yml',
    ]);
    expect(out).toContain('SUCCESS: 2 rule files found');
  });

  it('checks both rule files', async () => {
    const out = await tool('promtool', [
      'check',
      'rules',
      'prometheus/rules/inference-recording.yml',
      'prometheus/rules/inference-alerts.yml',
    ]);
    expect(out).toContain('SUCCESS: 26 rules found');
    expect(out).toContain('SUCCESS: 16 rules found');
  });

  it('passes every rule unit test', async () => {
    const files = [
      'inference-alerts-test.yml',
      'inference-qps-drop-test.yml',
      'inference-recording-test.yml',
    ];
    const outputs = await Promise.all(
      files.map((f) =>
        tool('promtool', ['test', 'rules', `prometheus/tests/${f}`]),
      ),
    );
    for (const out of outputs) expect(out).toContain('SUCCESS');
  });

  it('fails a rule unit test whose expectation is wrong', async () => {
    const broken = {
      rule_files: ['../rules/inference-recording.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'up{job="inference-exporter"}', values: '1x5' },
          ],
          promql_expr_test: [
            {
              expr: 'up',
              eval_time: '1m',
              exp_samples: [
                { labels: 'up{job="inference-exporter"}', value: 2 },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'prometheus/tests/broken.yml'), stringify(broken));
    await expect(
      tool('promtool', ['test', 'rules', 'prometheus/tests/broken.yml']),
    ).rejects.toThrow(/FAILED/);
  });

  it('checks alertmanager.yml', async () => {
    const out = await tool('amtool', [
      'check-config',
      'alertmanager/alertmanager.yml',
    ]);
    expect(out).toContain('SUCCESS');
    expect(out).toContain('2 inhibit rules');
  });

  it('routes alerts by action, severity and team', async () => {
    const route = async (...labels: string[]) =>
      (
        await tool('amtool', [
          'config',
          'routes',
          'test',
          '--config.file=alertmanager/alertmanager.yml',
          ...labels,
        ])
      ).split('\n')[0];
    expect(
      await route('severity=critical', 'team=recsys', 'action=restart'),
    ).toBe('remediation,pager,model-team-email');
    expect(await route('severity=warning', 'team=ml-platform')).toBe(
      'platform-team-email',
    );
    expect(await route('severity=info', 'team=recsys')).toBe('silent');
  });

  it('parses every panel query as a recording rule', async () => {
    const queries = allPanelQueries(DEFAULT_BUNDLE_CONFIG);
    const rules = {
      groups: [
        {
          name: 'panel-queries',
          rules: queries.map((q, i) => ({
            record: `panel:query:${i}`,
            expr: q.expr,
          })),
        },
      ],
    };
    writeFileSync(join(dir, 'panels.yml'), stringify(rules));
    const out = await tool('promtool', ['check', 'rules', 'panels.yml']);
    expect(out).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
