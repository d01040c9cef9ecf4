/**
 * The body Alertmanager's webhook receiver sends (payload version "4",
 * described under `<webhook_config>` in the Alertmanager configuration
 * docs), checked field by field so a bad request is refused with the
 * exact field that is wrong. Fields not used here are kept as sent, and
 * unknown ones are ignored, so newer Alertmanager versions still pass.
 */
import { createHash } from 'node:crypto';

export type AlertStatus = 'firing' | 'resolved';

export interface WebhookAlert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  /**
   * Alertmanager's fingerprint of the label set; computed from the labels
   * here when a sender leaves it out.
   */
  fingerprint: string;
}

export interface WebhookPayload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: AlertStatus;
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: WebhookAlert[];
}

/** A body that is JSON but not an Alertmanager webhook payload. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

/** The payload version current Alertmanager releases send. */
export const PAYLOAD_VERSION = '4';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(field: string, detail: string): never {
  throw new PayloadError(`${field}: ${detail}`);
}

function text(obj: Obj, key: string, field: string, optional = false): string {
  const v = obj[key];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string') return bad(field, 'must be a string');
  return v;
}

function status(obj: Obj, field: string): AlertStatus {
  const v = obj.status;
  if (v !== 'firing' && v !== 'resolved') {
    return bad(field, 'must be "firing" or "resolved"');
  }
  return v;
}

function labelMap(
  obj: Obj,
  key: string,
  field: string,
  optional = false,
): Record<string, string> {
  const v = obj[key];
  if (v === undefined && optional) return {};
  if (!isObject(v)) return bad(field, 'must be an object of strings');
  for (const [name, value] of Object.entries(v)) {
    if (typeof value !== 'string') bad(`${field}.${name}`, 'must be a string');
  }
  return v as Record<string, string>;
}

/**
 * A stable id for a label set, for senders that omit `fingerprint`; not
 * Alertmanager's own hash, but equal label sets always give equal ids.
 */
export function labelsFingerprint(labels: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(labels).sort()) {
    hash.update(name).update('\u0000').update(labels[name]!).update('\u0000');
  }
  return hash.digest('hex').slice(0, 16);
}

function alert(v: unknown, field: string): WebhookAlert {
  if (!isObject(v)) return bad(field, 'must be an object');
  const labels = labelMap(v, 'labels', `${field}.labels`);
  if (typeof labels.alertname !== 'string' || labels.alertname === '') {
    bad(`${field}.labels.alertname`, 'must be a non-empty string');
  }
  const fingerprint = text(v, 'fingerprint', `${field}.fingerprint`, true);
  return {
    status: status(v, `${field}.status`),
    labels,
    annotations: labelMap(v, 'annotations', `${field}.annotations`, true),
    startsAt: text(v, 'startsAt', `${field}.startsAt`),
    endsAt: text(v, 'endsAt', `${field}.endsAt`, true),
    generatorURL: text(v, 'generatorURL', `${field}.generatorURL`, true),
    fingerprint: fingerprint || labelsFingerprint(labels),
  };
}

/** Checks a parsed JSON body; throws `PayloadError` naming the bad field. */
export function parseWebhookPayload(body: unknown): WebhookPayload {
  if (!isObject(body)) return bad('(body)', 'must be a JSON object');
  const version = text(body, 'version', 'version');
  if (version !== PAYLOAD_VERSION) {
    bad(
      'version',
      `must be "${PAYLOAD_VERSION}", got ${JSON.stringify(version)}`,
    );
  }
  if (!Array.isArray(body.alerts)) return bad('alerts', 'must be an array');
  const truncated = body.truncatedAlerts ?? 0;
  if (!Number.isInteger(truncated) || (truncated as number) < 0) {
    bad('truncatedAlerts', 'must be a whole number >= 0');
  }
  return {
    version,
    groupKey: text(body, 'groupKey', 'groupKey'),
    truncatedAlerts: truncated as number,
    status: status(body, 'status'),
    receiver: text(body, 'receiver', 'receiver'),
    groupLabels: labelMap(body, 'groupLabels', 'groupLabels'),
    commonLabels: labelMap(body, 'commonLabels', 'commonLabels'),
    commonAnnotations: labelMap(
      body,
      'commonAnnotations',
      'commonAnnotations',
      true,
    ),
    externalURL: text(body, 'externalURL', 'externalURL', true),
    alerts: body.alerts.map((a, i) => alert(a, `alerts[${i}]`)),
  };
}
