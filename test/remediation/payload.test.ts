import { describe, expect, it } from 'vitest';
import {
  labelsFingerprint,
  parseWebhookPayload,
  PayloadError,
} from '../../src/remediation/payload.js';
import { modelServerDown, qpsDrop, webhookBody } from './payloads.js';

describe('parseWebhookPayload', () => {
  it('keeps every documented field of a version 4 payload', () => {
    const body = webhookBody([
      { labels: modelServerDown(), fingerprint: '3f2a9c0d1e4b5a66' },
      {
        labels: qpsDrop(),
        fingerprint: '0b1c2d3e4f5a6b7c',
        status: 'resolved',
      },
    ]);
    const payload = parseWebhookPayload(body);
    expect(payload).toMatchObject({
      version: '4',
      receiver: 'remediation',
      status: 'firing',
      truncatedAlerts: 0,
      externalURL: 'http://alertmanager:9093',
      commonLabels: { severity: 'critical', team: 'recsys' },
    });
    expect(payload.groupKey).toBe(body.groupKey);
    expect(
      payload.alerts.map((a) => [a.labels.alertname, a.status, a.fingerprint]),
    ).toEqual([
      ['InferenceModelServerDown', 'firing', '3f2a9c0d1e4b5a66'],
      ['InferenceQPSDrop', 'resolved', '0b1c2d3e4f5a6b7c'],
    ]);
    expect(payload.alerts[0]!.endsAt).toBe('0001-01-01T00:00:00Z');
    expect(payload.alerts[0]!.annotations.runbook_url).toBe(
      'docs/runbooks.md#inferencemodelserverdown',
    );
  });

  it('accepts a payload without the optional fields', () => {
    const payload = parseWebhookPayload({
      version: '4',
      groupKey: '{}:{alertname="A"}',
      status: 'firing',
      receiver: 'remediation',
      groupLabels: { alertname: 'A' },
      commonLabels: { alertname: 'A' },
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'A', b: '1' },
          startsAt: '2026-12-04T10:00:00Z',
        },
      ],
    });
    expect(payload.truncatedAlerts).toBe(0);
    expect(payload.commonAnnotations).toEqual({});
    expect(payload.alerts[0]!.annotations).toEqual({});
    expect(payload.alerts[0]!.fingerprint).toBe(
      labelsFingerprint({ alertname: 'A', b: '1' }),
    );
  });

  it('computes the same fallback fingerprint for the same labels in any order', () => {
    const a = labelsFingerprint({ alertname: 'A', target: 'm:8080' });
    expect(labelsFingerprint({ target: 'm:8080', alertname: 'A' })).toBe(a);
    expect(labelsFingerprint({ alertname: 'A', target: 'n:8080' })).not.toBe(a);
    // The separator keeps ("ab","c") apart from ("a","bc").
    expect(labelsFingerprint({ ab: 'c' })).not.toBe(
      labelsFingerprint({ a: 'bc' }),
    );
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it.each([
    [null, '(body): must be a JSON object'],
    [{ ...webhookBody([]), version: 4 }, 'version: must be a string'],
    [{ ...webhookBody([]), groupKey: undefined }, 'groupKey: must be a string'],
    [
      { ...webhookBody([]), status: 'pending' },
      'status: must be "firing" or "resolved"',
    ],
    [
      { ...webhookBody([]), truncatedAlerts: -1 },
      'truncatedAlerts: must be a whole number >= 0',
    ],
    [
      { ...webhookBody([]), commonLabels: { a: 1 } },
      'commonLabels.a: must be a string',
    ],
    [{ ...webhookBody([]), alerts: [42] }, 'alerts[0]: must be an object'],
  ])('refuses %j', (body, message) => {
    expect(() => parseWebhookPayload(body)).toThrow(new PayloadError(message));
  });

  it('names the field of a bad alert', () => {
    const body = webhookBody([{ labels: modelServerDown() }]);
    const alert = (body.alerts as Array<Record<string, unknown>>)[0]!;
    expect(() =>
      parseWebhookPayload({ ...body, alerts: [{ ...alert, startsAt: 17 }] }),
    ).toThrow('alerts[0].startsAt: must be a string');
    expect(() =>
      parseWebhookPayload({
        ...body,
        alerts: [{ ...alert, labels: { ...modelServerDown(), target: null } }],
      }),
    ).toThrow('alerts[0].labels.target: must be a string');
  });
});
