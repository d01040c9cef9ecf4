import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BUNDLE_CONFIG,
  validateBundleConfig,
} from '../../src/bundle/config.js';

describe('validateBundleConfig', () => {
  it('returns the defaults for an empty object', () => {
    expect(validateBundleConfig({})).toEqual(DEFAULT_BUNDLE_CONFIG);
  });

  it('merges a valid override over the defaults', () => {
    const config = validateBundleConfig({ errorRatioThreshold: 0.1 });
    expect(config.errorRatioThreshold).toBe(0.1);
    expect(config.latencyP99Threshold).toBe(1);
  });

  it('rejects an unknown key, naming it', () => {
    expect(() => validateBundleConfig({ errorRatioThreshhold: 0.1 })).toThrow(
      'unknown key "errorRatioThreshhold"',
    );
  });

  it('rejects a value of the wrong type, naming the key and the value', () => {
    expect(() => validateBundleConfig({ latencyP99Threshold: '1s' })).toThrow(
      '"latencyP99Threshold" must be number, got "1s"',
    );
    expect(() => validateBundleConfig({ dashboardTags: 'ml' })).toThrow(
      '"dashboardTags" must be string[]',
    );
    expect(() => validateBundleConfig({ smtpRequireTls: 'no' })).toThrow(
      '"smtpRequireTls" must be boolean',
    );
  });

  it('rejects a bad duration and a ratio above 1', () => {
    expect(() => validateBundleConfig({ qpsDropFor: '10 minutes' })).toThrow(
      '"qpsDropFor" must be a duration',
    );
    expect(() => validateBundleConfig({ hostMemoryThreshold: 90 })).toThrow(
      '"hostMemoryThreshold" must be in (0, 1], got 90',
    );
  });

  it('requires the alert window to be a recorded one', () => {
    expect(() => validateBundleConfig({ alertWindow: '10m' })).toThrow(
      '"alertWindow" must be one of recordingWindows',
    );
  });

  it('rejects a non-object', () => {
    expect(() => validateBundleConfig(null)).toThrow('expected an object');
  });
});
