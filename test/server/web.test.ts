import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  METRICS_BODY,
  basic,
  startTestServer,
  waitUntil,
  type TestServer,
} from './web-helpers.js';

const aliceHash = bcrypt.hashSync('wonderland', 4);
const newAliceHash = bcrypt.hashSync('looking-glass', 4);

let dir: string;
let running: TestServer[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'web-'));
});

afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(config: string | undefined, audit?: { file: string }) {
  let path: string | undefined;
  if (config !== undefined) {
    path = join(dir, `web-${running.length}-${Date.now()}.yml`);
    writeFileSync(path, config);
  }
  const server = await startTestServer(path, audit ? { audit } : {});
  running.push(server);
  return { ...server, path: path! };
}

function get(port: number, path: string, authorization?: string) {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    headers: authorization ? { authorization } : {},
  });
}

const USERS = `basic_auth_users:\n  alice: ${aliceHash}\n`;
const HEADERS = `http_server_config:
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
`;

describe('basic auth over plain HTTP', () => {
  it('answers 200, 401, 401 and 401 for good, bad, missing and unknown', async () => {
    const { port } = await start(USERS);

    const good = await get(port, '/metrics', basic('alice', 'wonderland'));
    expect(good.status).toBe(200);
    expect(await good.text()).toBe(METRICS_BODY);

    for (const authorization of [
      basic('alice', 'wrong'),
      undefined,
      basic('mallory', 'wonderland'),
    ]) {
      const refused = await get(port, '/metrics', authorization);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Basic');
      expect(await refused.text()).not.toContain('test_metric');
    }
  });

  it('guards unknown routes too, so they cannot be probed', async () => {
    const { port } = await start(USERS);
    expect((await get(port, '/nope')).status).toBe(401);
    expect(
      (await get(port, '/nope', basic('alice', 'wonderland'))).status,
    ).toBe(404);
  });

  it('serves everything without a web config', async () => {
    const { port } = await start(undefined);
    expect((await get(port, '/metrics')).status).toBe(200);
  });
});

describe('response headers', () => {
  it('adds the configured headers to served and refused responses', async () => {
    const { port } = await start(USERS + HEADERS);
    for (const res of [
      await get(port, '/metrics', basic('alice', 'wonderland')),
      await get(port, '/metrics'),
    ]) {
      expect(res.headers.get('x-frame-options')).toBe('deny');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});

describe('reload', () => {
  it('swaps the password hash without a restart', async () => {
    const { port, path, lines } = await start(USERS);
    expect(
      (await get(port, '/metrics', basic('alice', 'wonderland'))).status,
    ).toBe(200);

    writeFileSync(path, `basic_auth_users:\n  alice: ${newAliceHash}\n`);
    await waitUntil(
      async () =>
        (await get(port, '/metrics', basic('alice', 'looking-glass')))
          .status === 200,
      'the new password to be accepted',
    );
    expect(
      (await get(port, '/metrics', basic('alice', 'wonderland'))).status,
    ).toBe(401);
    expect(lines.some((l) => l.includes('msg="web config reloaded"'))).toBe(
      true,
    );
  });

  it('keeps the running config after an invalid edit, and logs it once', async () => {
    const { port, path, lines } = await start(USERS + HEADERS);
    writeFileSync(path, `${USERS}  bob: not-a-hash\n`);
    await waitUntil(
      async () => lines.some((l) => l.includes('web config change rejected')),
      'the rejection',
    );
    // Several more polls pass; the same error is not repeated.
    await new Promise((r) => setTimeout(r, 400));

    const rejected = lines.filter((l) =>
      l.includes('web config change rejected'),
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toContain(
      'basic_auth_users.bob: must be a bcrypt hash',
    );
    expect(rejected[0]).toContain('level=error');
    const res = await get(port, '/metrics', basic('alice', 'wonderland'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('deny');

    // Fixing the file applies it: headers gone, users unchanged.
    writeFileSync(path, USERS);
    await waitUntil(
      async () =>
        (await get(port, '/metrics', basic('alice', 'wonderland'))).headers.get(
          'x-frame-options',
        ) === null,
      'the fixed config to apply',
    );
  });
});

describe('audit log', () => {
  it('writes one line per request with the route, user and masked client', async () => {
    const { port, lines } = await start(USERS);
    await get(port, '/metrics?token=s3cret', basic('alice', 'wonderland'));
    await get(port, '/metrics');
    await waitUntil(
      async () =>
        lines.filter((l) => l.includes('component=audit')).length === 2,
      'two audit lines',
    );

    const audit = lines.filter((l) => l.includes('component=audit'));
    expect(audit[0]).toMatch(
      /level=info component=audit msg=request method=GET route=\/metrics status=200 bytes=20 duration_seconds=[\d.]+ user=alice client=127\.0\.0\.0$/,
    );
    // Refused before routing: no route matched, no user; 'Unauthorized\n' is 13 bytes.
    expect(audit[1]).toMatch(
      /method=GET route=- status=401 bytes=13 duration_seconds=[\d.]+ user=- client=127\.0\.0\.0$/,
    );
    const all = lines.join('\n');
    expect(all).not.toContain('127.0.0.1');
    expect(all).not.toContain('s3cret');
  });

  it('writes audit lines to their own file when asked', async () => {
    const file = join(dir, 'audit.log');
    const { port, lines, close } = await start(undefined, { file });
    await get(port, '/metrics');
    await get(port, '/missing');
    await close();
    running = [];
    await waitUntil(
      // The audit file is opened as the server starts, not before.
      async () =>
        existsSync(file) && readFileSync(file, 'utf8').split('\n').length === 3,
      'two lines in the file',
    );

    const written = readFileSync(file, 'utf8').trim().split('\n');
    expect(written[0]).toMatch(
      /component=audit msg=request method=GET route=\/metrics status=200 bytes=20 .* user=- client=127\.0\.0\.0$/,
    );
    expect(written[1]).toMatch(/route=- status=404 /);
    expect(written.join('\n')).not.toContain('127.0.0.1');
    expect(lines.some((l) => l.includes('component=audit'))).toBe(false);
  });
});
