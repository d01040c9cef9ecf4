import { describe, expect, it } from 'vitest';
import { ActionLimiter, cooldownKey } from '../../src/remediation/limits.js';
import { parseWebhookPayload } from '../../src/remediation/payload.js';
import { modelServerDown, webhookBody } from './payloads.js';
import { rule } from './receiver.js';

describe('ActionLimiter', () => {
  it('holds a key exactly for its cooldown', () => {
    const clock = { ms: 1_000_000 };
    const limiter = new ActionLimiter(100, () => clock.ms);
    const r = rule({ name: 'r', cooldownSeconds: 60 });
    expect(limiter.check(r, 'k')).toBe('ok');
    limiter.record(r, 'k');
    clock.ms += 59_999;
    expect(limiter.check(r, 'k')).toBe('cooldown');
    expect(limiter.check(r, 'other')).toBe('ok');
    clock.ms += 1;
    expect(limiter.check(r, 'k')).toBe('ok');
  });

  it('counts actions over a sliding hour, globally and per rule', () => {
    const clock = { ms: 0 };
    const limiter = new ActionLimiter(3, () => clock.ms);
    const capped = rule({
      name: 'capped',
      cooldownSeconds: 1,
      maxActionsPerHour: 2,
    });
    const free = rule({ name: 'free', cooldownSeconds: 1 });

    limiter.record(capped, 'a'); // t = 0
    clock.ms = 1_000_000;
    limiter.record(capped, 'b');
    expect(limiter.check(capped, 'c')).toBe('rate_limit');
    expect(limiter.check(free, 'c')).toBe('ok');
    limiter.record(free, 'c');
    expect(limiter.check(free, 'd')).toBe('rate_limit');

    // The action at t = 0 leaves the window exactly one hour later.
    clock.ms = 3_599_999;
    expect(limiter.check(free, 'd')).toBe('rate_limit');
    clock.ms = 3_600_000;
    expect(limiter.check(free, 'd')).toBe('ok');
    expect(limiter.check(capped, 'd')).toBe('ok');
  });
});

describe('cooldownKey', () => {
  const alerts = parseWebhookPayload(
    webhookBody([
      { labels: modelServerDown('a:8080'), fingerprint: '01' },
      {
        labels: { ...modelServerDown('a:8080'), instance: 'other:10464' },
        fingerprint: '02',
      },
    ]),
  ).alerts;

  it('uses the fingerprint unless labels are chosen', () => {
    const byFingerprint = rule({ name: 'r' });
    expect(cooldownKey(byFingerprint, alerts[0]!)).not.toBe(
      cooldownKey(byFingerprint, alerts[1]!),
    );
    const byTarget = rule({ name: 'r', cooldownBy: ['target'] });
    expect(cooldownKey(byTarget, alerts[0]!)).toBe(
      cooldownKey(byTarget, alerts[1]!),
    );
    expect(cooldownKey(rule({ name: 'other' }), alerts[0]!)).not.toBe(
      cooldownKey(byFingerprint, alerts[0]!),
    );
  });
});
