/**
 * Secret templates for HTTP basic auth: the exporter's web config, which
 * holds a bcrypt hash, and the plain credentials the ServiceMonitor sends.
 * Both ship with placeholders that let nobody in, so an unedited apply
 * fails closed: scrapes get 401 and the exporter-down alert fires.
 */
import { Secret } from 'kubernetes-models/v1/Secret';
import type { BundleConfig } from '../config.js';
import {
  EXPORTER_APP,
  NAMES,
  WEB_CONFIG_FILE,
  appLabels,
  metadata,
} from './common.js';

/** User Prometheus scrapes as. */
export const SCRAPE_USER = 'prometheus';

/**
 * A bcrypt hash of random bytes that were thrown away, so no password
 * matches it. It has the shape the web config loader requires.
 */
export const PLACEHOLDER_BCRYPT_HASH =
  '$2b$10$lxoL7l2uDwUWlZSwlN6PDuXt.m9jwIYIpJlBqwzBFMjY2WHut6Q/.';

/** Stands in for the scrape password until it is replaced. */
export const PLACEHOLDER_PASSWORD = 'replace-with-the-scrape-password';

/** The web config file, in the exporter toolkit's format. */
export function webConfigText(): string {
  return [
    "# Basic auth for the exporter's HTTP endpoints (/metrics, /ingest).",
    '# Replace the hash with a bcrypt hash of the scrape password, e.g.',
    "#   htpasswd -nBC 10 '' | tr -d ':\\n'   (asks for the password)",
    '# and put the same password in the inference-exporter-scrape-auth Secret.',
    '# Add tls_server_config here to serve HTTPS (then set the ServiceMonitor',
    '# scheme to https).',
    'basic_auth_users:',
    `  ${SCRAPE_USER}: '${PLACEHOLDER_BCRYPT_HASH}'`,
    '',
  ].join('\n');
}

/** The exporter's `--web.config.file`, mounted from this Secret. */
export function webConfigSecret(config: BundleConfig): Secret {
  return new Secret({
    metadata: metadata(
      config,
      NAMES.webConfig,
      appLabels(EXPORTER_APP, 'web-config'),
    ),
    type: 'Opaque',
    stringData: { [WEB_CONFIG_FILE]: webConfigText() },
  });
}

/** What the ServiceMonitor sends; the password must match the hash above. */
export function scrapeAuthSecret(config: BundleConfig): Secret {
  return new Secret({
    metadata: metadata(
      config,
      NAMES.scrapeAuth,
      appLabels(EXPORTER_APP, 'monitoring'),
    ),
    type: 'Opaque',
    stringData: { username: SCRAPE_USER, password: PLACEHOLDER_PASSWORD },
  });
}
