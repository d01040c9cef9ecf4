/**
 * The exporter on the replayed shop data, with debug logging, basic auth
 * and the audit log: no user key, request id or item id may appear as a
 * label value, in the status JSON or in the logs, and no client address
 * may appear unmasked.
 */
import bcrypt from 'bcryptjs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDataPath } from '../../src/demo/main.js';
import { runReplay } from '../../src/demo/replay.js';
import { startCli, sum, waitFor } from './helpers.js';

let dir: string;
let lines: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ie-privacy-'));
  await runReplay({
    dataPath: defaultDataPath(),
    output: join(dir, 'model-server.jsonl'),
    clock: 'source',
    speedup: 0,
    progress: false,
    limit: 300,
  });
  lines = readFileSync(join(dir, 'model-server.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every user key, request id and item id in the log. */
function secrets(): Set<string> {
  const found = new Set<string>();
  for (const line of lines) {
    const e = JSON.parse(line);
    for (const v of [e.user, e.request_id, e.item, ...(e.items ?? [])]) {
      if (typeof v === 'string' && v !== '') found.add(v);
    }
  }
  return found;
}

function labelValues(text: string): string[] {
  return [...text.matchAll(/="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
}

/** Values in logfmt lines: after `=`, quoted or bare. */
function logValues(text: string): string[] {
  return [...text.matchAll(/=("(?:[^"\\]|\\.)*"|\S+)/g)].map((m) =>
    m[1]!.replace(/^"|"$/g, ''),
  );
}

describe('personal data', () => {
  it('never shows a user key, request id or item id, nor an unmasked client address', async () => {
    const webConfig = join(dir, 'web.yml');
    writeFileSync(
      webConfig,
      `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('pw', 4)}\n`,
    );
    const cli = await startCli([
      `--source.path=${join(dir, 'model-server.jsonl')}`,
      '--tail.from-beginning',
      `--web.config.file=${webConfig}`,
      '--log.level=debug',
    ]);
    const auth = {
      authorization: `Basic ${Buffer.from('prometheus:pw').toString('base64')}`,
    };
    const get = (path: string) =>
      fetch(`http://127.0.0.1:${cli.port}${path}`, { headers: auth });
    try {
      let metrics = '';
      await waitFor(
        async () => {
          metrics = await (await get('/metrics')).text();
          return sum(metrics, 'inference_log_lines_total') === lines.length;
        },
        30_000,
        'all lines counted',
      );
      const status = await (await get('/api/v1/status')).text();
      await fetch(`http://127.0.0.1:${cli.port}/metrics`); // a refused request
      await waitFor(async () => cli.stderr().includes('status=401'), 5_000);
      const logs = cli.stderr();

      const keys = secrets();
      expect(keys.size).toBeGreaterThan(500);
      expect(labelValues(metrics).filter((v) => keys.has(v))).toEqual([]);
      expect(
        [...status.matchAll(/"([^"]*)"/g)].filter((m) => keys.has(m[1]!)),
      ).toEqual([]);
      expect(logValues(logs).filter((v) => keys.has(v))).toEqual([]);

      // Clients are shown masked; the only full address is the exporter's own.
      const audit = logs
        .split('\n')
        .filter((l) => l.includes('component=audit'));
      expect(audit.length).toBeGreaterThanOrEqual(3);
      expect(audit.every((l) => l.includes('client=127.0.0.0'))).toBe(true);
      const withAddress = logs
        .split('\n')
        .filter((l) => l.includes('127.0.0.1'));
      expect(withAddress).toHaveLength(1);
      expect(withAddress[0]).toContain('msg=listening');
    } finally {
      await cli.stop();
    }
  });
});
