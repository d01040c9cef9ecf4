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

  it('merges single model-server metric names over the defaults', () => {
    const config = validateBundleConfig({
      modelServerMetrics: {
        vllmRequestsWaiting: 'vllm:num_requests_waiting_v2',
      },
    });
    expect(config.modelServerMetrics.vllmRequestsWaiting).toBe(
      'vllm:num_requests_waiting_v2',
    );
    expect(config.modelServerMetrics.tritonPendingRequests).toBe(
      'nv_inference_pending_request_count',
    );
    expect(DEFAULT_BUNDLE_CONFIG.modelServerMetrics.vllmRequestsWaiting).toBe(
      'vllm:num_requests_waiting',
    );
  });

  it('rejects an unknown model-server metric key or a bad name, naming the key', () => {
    expect(() =>
      validateBundleConfig({ modelServerMetrics: { tritonQueue: 'x' } }),
    ).toThrow('unknown key "modelServerMetrics.tritonQueue"');
    expect(() =>
      validateBundleConfig({
        modelServerMetrics: { torchserveRequests: 'ts requests' },
      }),
    ).toThrow(
      '"modelServerMetrics.torchserveRequests" must be a metric name, got "ts requests"',
    );
    expect(() =>
      validateBundleConfig({ modelServerMetrics: ['nv_inference_count'] }),
    ).toThrow('"modelServerMetrics" must be an object');
  });

  it('rejects a non-object', () => {
    expect(() => validateBundleConfig(null)).toThrow('expected an object');
  });
});
