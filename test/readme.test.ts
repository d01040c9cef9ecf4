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

describe('README format examples', () => {
  it('parses each example line with the format it is shown under', async () => {
    const { createParser } = await import('../src/formats/index.js');
    const { defaultSource } = await import('../src/config/schema.js');
    const block = readme.split(
      'One line of each, as the parsers read them:',
    )[1]!;
    const body = block.split('```text\n')[1]!.split('```')[0]!;
    const rows = body.trim().split('\n');
    let checked = 0;
    for (let i = 0; i < rows.length; i += 2) {
      const heading = rows[i]!.replace(/^# /, '');
      const format = heading.split(/[ ,]/)[0] as Parameters<
        typeof createParser
      >[0];
      const pattern = /pattern: '(.*)'$/.exec(heading)?.[1];
      const parser = createParser(format, {
        source: defaultSource([]),
        pattern,
      });
      const result = parser.parse(rows[i + 1]!, 0);
      expect(result.ok, `${format}: ${JSON.stringify(result)}`).toBe(true);
      checked++;
    }
    expect(checked).toBe(5);
  });
});
