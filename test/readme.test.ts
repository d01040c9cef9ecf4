import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS } from '../src/metrics/definitions.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every metric with its type and labels', () => {
    for (const def of ALL_METRICS) {
      const labels = def.labels.map((l) => `\`${l}\``).join(', ');
      expect(readme).toContain(`| \`${def.name}\` | ${def.type} | ${labels} |`);
    }
  });

  it('gives the run and test commands near the top', () => {
    const top = readme.split('\n').slice(0, 40).join('\n');
    expect(top).toContain('npm install && npm start');
    expect(top).toContain('npm test');
  });
});
