import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates, type TestCertificates } from './certs.js';
import {
  METRICS_BODY,
  basic,
  httpsGet,
  startTestServer,
  waitUntil,
  type TestServer,
  type TlsClient,
} from './web-helpers.js';

let dir: string;
let certs: TestCertificates;
let running: TestServer[] = [];
let configs = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'web-tls-'));
  certs = makeTestCertificates(dir);
});

afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a server on a web config written next to the certificates. */
async function start(config: string) {
  const path = join(dir, `web-${++configs}.yml`);
  writeFileSync(path, config);
  const server = await startTestServer(path);
  running.push(server);
  return { ...server, path };
}

const SERVER =
  'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n';

/** A client that trusts our CA, with an optional client certificate. */
function client(
  which?: 'good' | 'other' | 'expired',
  extra: Partial<TlsClient> = {},
): TlsClient {
  const pair = {
    good: [certs.clientCert, certs.clientKey],
    other: [certs.otherClientCert, certs.otherClientKey],
    expired: [certs.expiredClientCert, certs.expiredClientKey],
  };
  const base: TlsClient = { ca: certs.pem(certs.caCert), ...extra };
  if (!which) return base;
  const [cert, key] = pair[which];
  return { ...base, cert: certs.pem(cert!), key: certs.pem(key!) };
}

async function status(port: number, tlsClient: TlsClient): Promise<number> {
  return (await httpsGet(port, '/metrics', tlsClient)).status;
}

describe('TLS', () => {
  it('serves HTTPS with the configured certificate', async () => {
    const { port } = await start(SERVER);
    const reply = await httpsGet(port, '/metrics', client());
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(METRICS_BODY);
  });

  it('refuses a TLS 1.2 client when min_version is TLS13', async () => {
    const { port } = await start(`${SERVER}  min_version: TLS13\n`);
    await expect(
      httpsGet(port, '/metrics', client(undefined, { maxVersion: 'TLSv1.2' })),
    ).rejects.toThrow(/protocol version/);
    expect(await status(port, client())).toBe(200);
  });

  it('combines TLS with basic auth', async () => {
    const hash = bcrypt.hashSync('wonderland', 4);
    const { port } = await start(
      `${SERVER}basic_auth_users:\n  alice: ${hash}\n`,
    );
    expect(await status(port, client())).toBe(401);
    expect(
      await status(
        port,
        client(undefined, { authorization: basic('alice', 'wonderland') }),
      ),
    ).toBe(200);
  });
});

describe('client certificates', () => {
  const MTLS = `${SERVER}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n`;

  it('RequireAndVerifyClientCert admits only valid certificates from the CA', async () => {
    const { port, lines } = await start(MTLS);
    expect(await status(port, client('good'))).toBe(200);
    await expect(status(port, client())).rejects.toThrow();
    await expect(status(port, client('other'))).rejects.toThrow();
    await expect(status(port, client('expired'))).rejects.toThrow();
    // The refusals leave the server serving.
    expect(await status(port, client('good'))).toBe(200);
    expect(lines.join('\n')).not.toContain('127.0.0.1');
  });

  it('VerifyClientCertIfGiven admits no certificate but not an untrusted one', async () => {
    const { port, lines } = await start(
      `${SERVER}  client_ca_file: ca.crt\n  client_auth_type: VerifyClientCertIfGiven\n`,
    );
    expect(await status(port, client())).toBe(200);
    expect(await status(port, client('good'))).toBe(200);
    await expect(status(port, client('other'))).rejects.toThrow();
    await expect(status(port, client('expired'))).rejects.toThrow();
    // OpenSSL's own verdicts, so each was refused for the reason meant.
    const reasons = lines
      .filter((l) => l.includes('refused a TLS client'))
      .map((l) => /\((\w+)\)/.exec(l)?.[1]);
    expect(reasons).toEqual([
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'CERT_HAS_EXPIRED',
    ]);
  });

  it('RequireAnyClientCert admits any certificate but not none', async () => {
    const { port } = await start(
      `${SERVER}  client_auth_type: RequireAnyClientCert\n`,
    );
    expect(await status(port, client('other'))).toBe(200);
    await expect(status(port, client())).rejects.toThrow();
  });
});

describe('TLS reload', () => {
  it('applies a new client policy to new connections', async () => {
    const { port, path } = await start(SERVER);
    expect(await status(port, client())).toBe(200);

    writeFileSync(path, MTLS_FOR_RELOAD);
    await waitUntil(
      async () =>
        status(port, client()).then(
          () => false,
          () => true,
        ),
      'connections without a certificate to be refused',
    );
    expect(await status(port, client('good'))).toBe(200);
  });

  it('picks up a replaced certificate file', async () => {
    const cert = join(dir, 'live.crt');
    const key = join(dir, 'live.key');
    copyFileSync(certs.serverCert, cert);
    copyFileSync(certs.serverKey, key);
    const { port } = await start(
      'tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n',
    );
    expect(await status(port, client())).toBe(200);

    // A certificate from the other CA: our client stops trusting the server.
    copyFileSync(certs.otherServerCert, cert);
    copyFileSync(certs.otherServerKey, key);
    await waitUntil(
      async () =>
        status(port, client()).then(
          () => false,
          () => true,
        ),
      'the replaced certificate to be served',
    );
    expect(await status(port, { ca: certs.pem(certs.otherCaCert) })).toBe(200);
  });

  it('keeps serving TLS when the edit would switch to plain HTTP', async () => {
    const { port, path, lines } = await start(SERVER);
    writeFileSync(path, '');
    await waitUntil(
      async () => lines.some((l) => l.includes('needs a restart')),
      'the rejection',
    );
    expect(lines.find((l) => l.includes('needs a restart'))).toContain(
      'level=error',
    );
    expect(await status(port, client())).toBe(200);
  });
});

const MTLS_FOR_RELOAD = `${SERVER}  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n`;
