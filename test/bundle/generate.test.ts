import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { alertSpecs } from '../../src/bundle/alerts.js';
import {
  DEFAULT_BUNDLE_CONFIG,
  validateBundleConfig,
} from '../../src/bundle/config.js';
import { allPanelQueries } from '../../src/bundle/dashboards/queries.js';
import { generateBundle } from '../../src/bundle/files.js';
import { staleFiles, writeBundle } from '../../src/bundle/main.js';
import { ALL_METRICS } from '../../src/metrics/definitions.js';

const ROOT = join(import.meta.dirname, '..', '..');
const config = DEFAULT_BUNDLE_CONFIG;
const temps: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
  temps.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

describe('bundle generation', () => {
  it('writes byte-identical files on two runs', () => {
    const first = tempDir();
    const second = tempDir();
    const paths = writeBundle(first, config);
    writeBundle(second, config);
    for (const path of paths) {
      const a = readFileSync(join(first, path));
      const b = readFileSync(join(second, path));
      expect(a.equals(b), path).toBe(true);
    }
  });

  it('matches the committed files', () => {
    expect(staleFiles(ROOT, config)).toEqual([]);
  });

  it('names a changed or missing file as stale', () => {
    const dir = tempDir();
    writeBundle(dir, config);
    const rules = join(dir, 'prometheus/rules/inference-alerts.yml');
    writeFileSync(rules, `${readFileSync(rules, 'utf8')}# edited\n`);
    rmSync(join(dir, 'docs/runbooks.md'));
    expect(staleFiles(dir, config)).toEqual([
      'prometheus/rules/inference-alerts.yml',
      'docs/runbooks.md',
    ]);
  });

  it('follows the configuration', () => {
    const custom = validateBundleConfig({ exporterSelector: 'job="x"' });
    const rules = generateBundle(custom).get(
      'prometheus/rules/inference-recording.yml',
    )!;
    expect(rules).toContain('inference_requests_total{job="x"}');
    expect(rules).not.toContain('job="inference-exporter"');
  });
});

describe('metric names', () => {
  const known = new Set([
    ...ALL_METRICS.map((m) => m.name),
    ...ALL_METRICS.filter((m) => m.type === 'histogram').map(
      (m) => `${m.name}_bucket`,
    ),
    config.probeUpMetric,
    // The model server's own names, from the bundle config by design.
    ...Object.values(config.modelServerMetrics),
    `${config.modelServerMetrics.vllmE2eRequestLatencySeconds}_bucket`,
  ]);
  const files = generateBundle(config);
  const recordingFile = parse(
    files.get('prometheus/rules/inference-recording.yml')!,
  ) as { groups: Array<{ rules: Array<{ record: string; expr: string }> }> };
  const recordedNames = new Set(
    recordingFile.groups.flatMap((g) => g.rules.map((r) => r.record)),
  );

  /** Metric-like names in a PromQL text that are neither exported nor recorded. */
  function unknownNames(expr: string): string[] {
    const names = expr.match(/[a-z_:][a-z0-9_:]*(?=\{|\[|\)|\s|$)/g) ?? [];
    return names.filter(
      (n) =>
        (n.startsWith('inference_') || n.includes(':')) &&
        !known.has(n) &&
        !recordedNames.has(n),
    );
  }

  it('uses only defined metrics and recorded series in rules and panels', () => {
    const exprs = [
      ...recordingFile.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...alertSpecs(config).map((s) => s.expr),
      ...allPanelQueries(config).map((q) => q.expr),
    ];
    expect(exprs.flatMap(unknownNames)).toEqual([]);
  });

  it('spots a name that is not defined', () => {
    expect(unknownNames('rate(inference_requests_totl[5m])')).toEqual([
      'inference_requests_totl',
    ]);
  });
});
