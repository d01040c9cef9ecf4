import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { secureContextOptions } from '../../src/server/tls.js';
import { loadWebConfig, parseWebConfig } from '../../src/server/webconfig.js';
import { makeTestCertificates, type TestCertificates } from './certs.js';

// A syntactically valid bcrypt hash (cost 4); its password does not matter here.
const HASH = '$2y$04$abcdefghijklmnopqrstuuQ3mFyTW1gaiv5eZmuA9o/DbTC5PcE7K';

let dir: string;
let certs: TestCertificates;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webconfig-'));
  certs = makeTestCertificates(dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Parses `text` as if it were `<dir>/web.yml`. */
function parse(text: string) {
  return parseWebConfig(text, join(dir, 'web.yml'));
}

function errorOf(text: string): string {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseWebConfig', () => {
  it('treats an empty file as plain HTTP without users', () => {
    const config = parse('');
    expect(config.tls).toBeUndefined();
    expect(config.users.size).toBe(0);
    expect(config.headers).toEqual({});
  });

  it('reads TLS files relative to the config and applies the defaults', () => {
    const config = parse(`
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  alice: ${HASH}
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
`);
    expect(config.tls).toMatchObject({
      certPem: certs.pem(certs.serverCert),
      keyPem: certs.pem(certs.serverKey),
      clientAuthType: 'NoClientCert',
      minVersion: 'TLS12',
      maxVersion: 'TLS13',
      cipherSuites: [],
      preferServerCipherSuites: true,
    });
    expect(config.tls!.clientCaPem).toBeUndefined();
    expect([...config.users]).toEqual([['alice', HASH]]);
    // A blank header value means "unset", as in the toolkit.
    expect(config.headers).toEqual({
      'X-Frame-Options': 'deny',
      'Strict-Transport-Security': 'max-age=31536000',
    });
    expect(config.http2).toBe(false);
    expect(config.files).toEqual([
      join(dir, 'web.yml'),
      certs.serverCert,
      certs.serverKey,
    ]);
  });

  it('accepts inline PEM text and a verifying client policy with its CA', () => {
    const indent = (pem: string) => pem.trim().replace(/\n/g, '\n    ');
    const config = parse(`
tls_server_config:
  cert: |
    ${indent(certs.pem(certs.serverCert))}
  key: |
    ${indent(certs.pem(certs.serverKey))}
  client_ca_file: ${certs.caCert}
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS13
`);
    expect(config.tls!.certPem.trim()).toBe(certs.pem(certs.serverCert).trim());
    expect(config.tls!.clientCaPem).toBe(certs.pem(certs.caCert));
    expect(config.tls!.clientAuthType).toBe('RequireAndVerifyClientCert');
    expect(config.tls!.minVersion).toBe('TLS13');
  });

  it('maps Go cipher and curve names to OpenSSL ones, keeping TLS 1.3 on', () => {
    const config = parse(`
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
`);
    const options = secureContextOptions(config.tls!);
    expect(options.ciphers).toBe(
      'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256',
    );
    expect(options.ecdhCurve).toBe('X25519:P-256');
    expect(options.honorCipherOrder).toBe(false);
  });

  const TLS =
    'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n';

  it.each([
    ['tls_config:\n  x: 1\n', 'web.yml:1: tls_config: unknown key'],
    [
      `${TLS}  min_vers: TLS12\n`,
      'web.yml:4: tls_server_config.min_vers: unknown key',
    ],
    [
      `${TLS}  min_version: TLS14\n`,
      'web.yml:4: tls_server_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13, got "TLS14"',
    ],
    [
      `${TLS}  min_version: 12\n`,
      'web.yml:4: tls_server_config.min_version: must be a string',
    ],
    [
      `${TLS}  min_version: TLS13\n  max_version: TLS12\n`,
      'web.yml:4: tls_server_config.min_version: is above max_version TLS12',
    ],
    [
      `${TLS}  client_auth_type: Always\n`,
      'tls_server_config.client_auth_type: must be one of NoClientCert, RequestClientCert',
    ],
    [
      `${TLS}  client_auth_type: RequireAndVerifyClientCert\n`,
      'web.yml:4: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file (or client_ca)',
    ],
    [
      `${TLS}  client_ca_file: ca.crt\n`,
      'web.yml:4: tls_server_config.client_ca_file: needs client_auth_type other than NoClientCert',
    ],
    [
      `${TLS}  cipher_suites: [RC4]\n`,
      'web.yml:4: tls_server_config.cipher_suites[0]: must be one of TLS_RSA_WITH_AES_128_CBC_SHA',
    ],
    [
      `${TLS}  curve_preferences: CurveP256\n`,
      'web.yml:4: tls_server_config.curve_preferences: must be a list',
    ],
    [
      `${TLS}  prefer_server_cipher_suites: "yes"\n`,
      'web.yml:4: tls_server_config.prefer_server_cipher_suites: must be true or false',
    ],
    [
      `${TLS}  client_allowed_sans: [a]\n`,
      'web.yml:4: tls_server_config.client_allowed_sans: is not supported',
    ],
    [
      'tls_server_config:\n  key_file: server.key\n',
      'web.yml:1: tls_server_config: needs cert_file (or cert)',
    ],
    [
      'tls_server_config:\n  cert_file: server.crt\n  cert: x\n  key_file: server.key\n',
      'web.yml:2: tls_server_config.cert_file: cannot be given together with cert',
    ],
    [
      'tls_server_config:\n  cert_file: server.crt\n  key_file: ""\n',
      'web.yml:3: tls_server_config.key_file: must not be empty',
    ],
    [
      'rate_limit:\n  burst: 2\n',
      'web.yml:1: rate_limit: is not supported by this exporter',
    ],
    [
      'http_server_config:\n  headers:\n    Authorization: x\n',
      'web.yml:3: http_server_config.headers.Authorization: cannot be set; allowed headers are',
    ],
    [
      'http_server_config:\n  headers:\n    Content-Type: text/html\n',
      'web.yml:3: http_server_config.headers.Content-Type: cannot be set',
    ],
    [
      'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
      'web.yml:3: http_server_config.headers.X-Frame-Options: must be one of deny, sameorigin, got "allow"',
    ],
    [
      'http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n',
      'http_server_config.headers.X-Content-Type-Options: must be one of nosniff',
    ],
    [
      'http_server_config:\n  http2: maybe\n',
      'web.yml:2: http_server_config.http2: must be true or false',
    ],
    [
      'basic_auth_users:\n  alice: secret\n',
      'web.yml:2: basic_auth_users.alice: must be a bcrypt hash',
    ],
    [
      `basic_auth_users:\n  "a:b": ${HASH}\n`,
      'web.yml:2: basic_auth_users.a:b: a user name must be non-empty and without ":"',
    ],
    [
      `basic_auth_users:\n  alice: ${HASH}\n  alice: ${HASH}\n`,
      'web.yml:3: (yaml): Map keys must be unique',
    ],
    [
      'basic_auth_users: [alice]\n',
      'web.yml:1: basic_auth_users: must be a mapping',
    ],
    ['tls_server_config: [\n', 'web.yml:2: (yaml): '],
  ])('rejects %j', (text, message) => {
    expect(errorOf(text)).toContain(message);
  });

  it('never echoes a malformed password hash', () => {
    expect(errorOf('basic_auth_users:\n  alice: hunter2\n')).not.toContain(
      'hunter2',
    );
  });

  it('names a missing file with its absolute path, line and key', () => {
    const message = errorOf(
      `${TLS}  client_auth_type: RequireAnyClientCert\n  client_ca_file: nope/ca.crt\n`,
    );
    expect(message).toBe(
      `${join(dir, 'web.yml')}:5: tls_server_config.client_ca_file: cannot read ${join(dir, 'nope/ca.crt')} (ENOENT)`,
    );
  });

  it('refuses a certificate with the wrong key', () => {
    const message = errorOf(
      'tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n',
    );
    expect(message).toContain(
      'web.yml:2: tls_server_config.cert_file: unusable certificate, key or CA:',
    );
  });
});

describe('loadWebConfig', () => {
  it('names an unreadable config file', () => {
    const file = join(dir, 'absent.yml');
    expect(() => loadWebConfig(file)).toThrow(
      `${file}: (file): cannot read (ENOENT)`,
    );
  });

  it('reads a file from disk', () => {
    const file = join(dir, 'users.yml');
    writeFileSync(file, `basic_auth_users:\n  bob: ${HASH}\n`);
    expect([...loadWebConfig(file).users.keys()]).toEqual(['bob']);
  });
});
