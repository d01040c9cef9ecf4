import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import {
  collectMemory,
  memoryCollector,
  memoryReading,
} from '../../src/host/memory.js';
import { MetricStore } from '../../src/metrics/store.js';
import { sample } from './samples.js';

describe('memoryReading', () => {
  it('counts used as total less available', () => {
    expect(memoryReading(1000, 250)).toEqual({
      totalBytes: 1000,
      availableBytes: 250,
      usedBytes: 750,
    });
  });

  it('keeps available within 0 and total', () => {
    expect(memoryReading(1000, 1200).usedBytes).toBe(0);
    expect(memoryReading(1000, -5).usedBytes).toBe(1000);
  });

  it('rejects a total that is not a positive number', () => {
    expect(() => memoryReading(0, 0)).toThrow(/total memory is 0/);
    expect(() => memoryReading(Number.NaN, 0)).toThrow(/total memory is NaN/);
    expect(() => memoryReading(10, Number.NaN)).toThrow(/available memory/);
  });
});

describe('memoryCollector', () => {
  it('sets the four gauges from one reading', () => {
    const store = new MetricStore();
    memoryCollector(store).record(memoryReading(8 * 2 ** 30, 6 * 2 ** 30));

    expect(sample(store, 'inference_host_memory_total_bytes')).toBe(8589934592);
    expect(sample(store, 'inference_host_memory_available_bytes')).toBe(
      6442450944,
    );
    expect(sample(store, 'inference_host_memory_used_bytes')).toBe(2147483648);
    expect(sample(store, 'inference_host_memory_utilization_ratio')).toBe(0.25);
  });

  it('shows no series before a good reading', () => {
    const store = new MetricStore();
    memoryCollector(store);
    const scrape = store.render('prometheus');
    expect(scrape).toContain('# TYPE inference_host_memory_total_bytes gauge');
    expect(scrape).not.toMatch(/^inference_host_memory_\w+ /m);
  });
});

const onLinux = describe.runIf(process.platform === 'linux');

onLinux('collectMemory on this host', () => {
  it('agrees with /proc/meminfo', async () => {
    const kib = (text: string, key: string): number => {
      const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
      if (!match) throw new Error(`no ${key} in /proc/meminfo`);
      return Number(match[1]) * 1024;
    };
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const total = kib(meminfo, 'MemTotal');
    const available = kib(meminfo, 'MemAvailable');

    const reading = await collectMemory();
    expect(reading.totalBytes).toBe(total);
    expect(reading.usedBytes).toBe(reading.totalBytes - reading.availableBytes);
    // Available memory moves between the two reads; 5 % of total is ample.
    const ratio = 1 - reading.availableBytes / reading.totalBytes;
    expect(Math.abs(ratio - (1 - available / total))).toBeLessThan(0.05);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
  });
});
