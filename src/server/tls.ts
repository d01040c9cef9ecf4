/**
 * Turns the `tls_server_config` of a web config into Node's TLS options,
 * and checks client certificates after the handshake for the policies that
 * OpenSSL alone does not enforce.
 *
 * Names follow the Prometheus exporter toolkit, which uses Go's: versions
 * `TLS10`..`TLS13`, IANA cipher suite names, and Go's curve names.
 */
import type { SecureContextOptions, SecureVersion, TLSSocket } from 'node:tls';

/** Client certificate policies, as Go's `tls.ClientAuthType` names them. */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;

export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** Protocol versions by their toolkit names. */
export const TLS_VERSIONS: Record<string, SecureVersion> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

/**
 * The TLS 1.2 and older suites that Go offers, by IANA name, with the
 * OpenSSL name Node expects. Go applies `cipher_suites` to TLS 1.2 and
 * below only, so the TLS 1.3 names are accepted and change nothing.
 */
export const CIPHER_SUITES: Record<string, string | null> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
    'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_AES_128_GCM_SHA256: null,
  TLS_AES_256_GCM_SHA384: null,
  TLS_CHACHA20_POLY1305_SHA256: null,
};

/**
 * Node turns TLS 1.3 off when a cipher list names no TLS 1.3 suite; these
 * keep it on, as Go does whatever `cipher_suites` says.
 */
const TLS13_SUITES =
  'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

/** Go's curve names and OpenSSL's. */
export const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** A validated `tls_server_config`, PEM text already read. */
export interface TlsServerSettings {
  certPem: string;
  keyPem: string;
  /** Trusted issuers of client certificates. */
  clientCaPem?: string;
  clientAuthType: ClientAuthType;
  /** Toolkit names, such as `TLS12`. */
  minVersion: string;
  maxVersion: string;
  /** IANA names; empty for OpenSSL's defaults. */
  cipherSuites: string[];
  preferServerCipherSuites: boolean;
  /** Go names; empty for OpenSSL's defaults. */
  curvePreferences: string[];
}

/** Options for `https.createServer` and `server.setSecureContext`. */
export function secureContextOptions(
  settings: TlsServerSettings,
): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: settings.certPem,
    key: settings.keyPem,
    minVersion: TLS_VERSIONS[settings.minVersion],
    maxVersion: TLS_VERSIONS[settings.maxVersion],
    honorCipherOrder: settings.preferServerCipherSuites,
  };
  if (settings.clientCaPem) options.ca = settings.clientCaPem;

  const legacy = settings.cipherSuites
    .map((name) => CIPHER_SUITES[name])
    .filter((name): name is string => typeof name === 'string');
  if (legacy.length > 0) options.ciphers = [TLS13_SUITES, ...legacy].join(':');
  if (settings.curvePreferences.length > 0) {
    options.ecdhCurve = settings.curvePreferences
      .map((name) => CURVES[name])
      .join(':');
  }
  return options;
}

/**
 * What OpenSSL is told for a policy. Only RequireAndVerifyClientCert lets
 * OpenSSL refuse during the handshake; the softer policies are checked by
 * `clientCertificateProblem` once the handshake is done.
 */
export function clientCertificateRequest(type: ClientAuthType): {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    requestCert: type !== 'NoClientCert',
    rejectUnauthorized: type === 'RequireAndVerifyClientCert',
  };
}

/** Why a connection breaks the policy, or undefined when it does not. */
export function clientCertificateProblem(
  socket: TLSSocket,
  type: ClientAuthType,
): string | undefined {
  if (type === 'NoClientCert' || type === 'RequestClientCert') return undefined;
  const presented = Object.keys(socket.getPeerCertificate()).length > 0;
  if (!presented) {
    return type === 'VerifyClientCertIfGiven'
      ? undefined
      : 'no client certificate';
  }
  if (type === 'RequireAnyClientCert') return undefined;
  return socket.authorized
    ? undefined
    : `client certificate not trusted (${String(socket.authorizationError)})`;
}
