/**
 * Test certificates made with the `openssl` command in a temporary folder:
 * a CA, a server certificate for 127.0.0.1 and localhost, a client signed
 * by the CA, a client signed by another CA, an expired client, and a
 * second server certificate from the other CA for replacement tests.
 *
 * `openssl x509` here (3.0) cannot set a past start date and `faketime` is
 * not installed, so the expired client is issued with `openssl ca`, whose
 * `-startdate`/`-enddate` take any dates, from a minimal CA config.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** Absolute paths of PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherClientCert: string;
  otherClientKey: string;
  expiredClientCert: string;
  expiredClientKey: string;
  otherCaCert: string;
  otherServerCert: string;
  otherServerKey: string;
  /** PEM text, for clients. */
  pem(path: string): string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

const EC = [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:prime256v1',
  '-nodes',
];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A leaf certificate signed by `ca`, valid from now for two days. */
function makeLeaf(
  dir: string,
  ca: string,
  name: string,
  extensions: string,
): void {
  openssl(dir, [
    'req',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/** A client certificate whose validity ended in 2021. */
function makeExpired(dir: string, ca: string, name: string): void {
  const db = join(dir, 'ca-db');
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `dir = ${db}`,
      'database = $dir/index.txt',
      'serial = $dir/serial',
      'new_certs_dir = $dir',
      'default_md = sha256',
      'policy = any',
      'x509_extensions = client',
      'unique_subject = no',
      '[any]',
      'commonName = supplied',
      '[client]',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  openssl(dir, [
    'req',
    ...EC,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl(dir, [
    'ca',
    '-batch',
    '-config',
    'ca.cnf',
    '-cert',
    `${ca}.crt`,
    '-keyfile',
    `${ca}.key`,
    '-startdate',
    '20200101000000Z',
    '-enddate',
    '20210101000000Z',
    '-notext',
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
  ]);
}

/** Writes every test certificate into `dir`. */
export function makeTestCertificates(dir: string): TestCertificates {
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  const serverExt =
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  makeLeaf(dir, 'ca', 'server', serverExt);
  makeLeaf(dir, 'other-ca', 'other-server', serverExt);
  makeLeaf(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'other-ca', 'other-client', 'extendedKeyUsage=clientAuth\n');
  makeExpired(dir, 'ca', 'expired-client');
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caCert: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
    otherClientCert: at('other-client.crt'),
    otherClientKey: at('other-client.key'),
    expiredClientCert: at('expired-client.crt'),
    expiredClientKey: at('expired-client.key'),
    otherCaCert: at('other-ca.crt'),
    otherServerCert: at('other-server.crt'),
    otherServerKey: at('other-server.key'),
    pem: (path) => readFileSync(path, 'utf8'),
  };
}
