import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { afterEach, describe, expect, it, vi } from 'vitest';

import type { CpuSeconds } from '../../src/host/cpu.js';
import type { MemoryReading } from '../../src/host/memory.js';
import type { NetworkReading } from '../../src/host/network.js';
import {
  startHostCollector,
  type HostCollectorHandle,
  type HostReaders,
} from '../../src/host/runner.js';
import { createLogger } from '../../src/log.js';
import { MetricStore } from '../../src/metrics/store.js';
import { sample, seriesOf } from './samples.js';

const SUCCESS = 'inference_host_collector_success';
const DURATION = 'inference_host_collector_duration_seconds';
const RECEIVED = 'inference_host_network_receive_bytes_total';
const COLLECTORS = ['cpu', 'memory', 'network'];

const CPU: CpuSeconds = { user: 3, system: 1, idle: 6 };
const MEMORY: MemoryReading = {
  totalBytes: 4000,
  availableBytes: 1000,
  usedBytes: 3000,
};
const NETWORK: NetworkReading = {
  atSeconds: 1,
  interfaces: [{ device: 'eth0', receiveBytes: 70, transmitBytes: 30 }],
};

function fakeReaders(): HostReaders {
  return {
    cpu: async () => CPU,
    memory: async () => MEMORY,
    network: async () => NETWORK,
  };
}

function capturingLogger() {
  const lines: string[] = [];
  return { lines, log: createLogger({ write: (l) => lines.push(l) }) };
}

const handles: HostCollectorHandle[] = [];
function start(...args: Parameters<typeof startHostCollector>) {
  const handle = startHostCollector(...args);
  handles.push(handle);
  return handle;
}

afterEach(() => {
  handles.splice(0).forEach((h) => h.stop());
  vi.useRealTimers();
});

describe('startHostCollector', () => {
  it('marks a failing collector 0 while the others still report', async () => {
    const store = new MetricStore();
    const readers = fakeReaders();
    readers.cpu = async () => {
      throw new Error('reading /proc/stat: EACCES');
    };
    const { log } = capturingLogger();

    await start(store, { readers }, log).collectOnce();

    expect(sample(store, SUCCESS, 'cpu')).toBe(0);
    expect(sample(store, SUCCESS, 'memory')).toBe(1);
    expect(sample(store, SUCCESS, 'network')).toBe(1);
    expect(sample(store, 'inference_host_memory_utilization_ratio')).toBe(0.75);
    expect(sample(store, RECEIVED, 'eth0')).toBe(70);
    expect(seriesOf(store, 'inference_host_cpu_seconds_total')).toEqual([]);
    expect(seriesOf(store, DURATION).sort()).toEqual(COLLECTORS);
    for (const name of COLLECTORS) {
      expect(sample(store, DURATION, name)).toBeGreaterThanOrEqual(0);
    }
  });

  it('logs a failure once until the collector recovers', async () => {
    const store = new MetricStore();
    const readers = fakeReaders();
    let broken = true;
    readers.memory = async () => {
      if (broken) throw new Error('meminfo unreadable');
      return MEMORY;
    };
    const { lines, log } = capturingLogger();
    const host = start(store, { readers }, log);

    await host.collectOnce();
    await host.collectOnce();
    await host.collectOnce();
    const warnings = () => lines.filter((l) => l.includes('level=warn'));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('component=host');
    expect(warnings()[0]).toContain('collector=memory');
    expect(warnings()[0]).toContain('err="meminfo unreadable"');

    broken = false;
    await host.collectOnce();
    expect(sample(store, SUCCESS, 'memory')).toBe(1);
    expect(lines.filter((l) => l.includes('recovered'))).toHaveLength(1);

    broken = true;
    await host.collectOnce();
    expect(sample(store, SUCCESS, 'memory')).toBe(0);
    expect(warnings()).toHaveLength(2);
  });

  it('runs at start, then once per interval until stopped', async () => {
    vi.useFakeTimers();
    const store = new MetricStore();
    const readers = fakeReaders();
    const cpu = vi.fn(readers.cpu);
    readers.cpu = cpu;
    const host = start(store, { intervalSeconds: 5, readers });

    await vi.advanceTimersByTimeAsync(0);
    expect(cpu).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(4999);
    expect(cpu).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(cpu).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(cpu).toHaveBeenCalledTimes(3);

    host.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(cpu).toHaveBeenCalledTimes(3);
  });

  it('joins a run in progress instead of starting a second one', async () => {
    const store = new MetricStore();
    const readers = fakeReaders();
    let release: () => void = () => {};
    const cpu = vi.fn(
      () =>
        new Promise<CpuSeconds>((resolve) => {
          release = () => resolve(CPU);
        }),
    );
    readers.cpu = cpu;
    const host = start(store, { readers });

    const first = host.collectOnce();
    const second = host.collectOnce();
    expect(second).toBe(first);
    release();
    await first;
    expect(cpu).toHaveBeenCalledTimes(1);
    expect(sample(store, 'inference_host_cpu_seconds_total', 'user')).toBe(3);
  });

  it('fails a collector whose reading takes over an interval', async () => {
    const store = new MetricStore();
    const readers = fakeReaders();
    readers.network = () => new Promise<NetworkReading>(() => {});
    const { lines, log } = capturingLogger();

    await start(store, { intervalSeconds: 0.05, readers }, log).collectOnce();

    expect(sample(store, SUCCESS, 'network')).toBe(0);
    expect(sample(store, SUCCESS, 'cpu')).toBe(1);
    expect(lines.join('\n')).toContain('no reading within 0.05s');
  });

  it('rejects bad options, naming the key and the value', () => {
    const store = new MetricStore();
    for (const intervalSeconds of [0, -1, Number.NaN]) {
      expect(() => start(store, { intervalSeconds })).toThrow(
        `host.interval_seconds must be a positive number of seconds, got ${intervalSeconds}`,
      );
    }
    expect(() => start(store, { networkDeviceExclude: '(eth' })).toThrow(
      /host.network_device_exclude .* got "\(eth"/,
    );
  });

  it('does nothing when disabled', async () => {
    const store = new MetricStore();
    const readers = fakeReaders();
    const cpu = vi.fn(readers.cpu);
    readers.cpu = cpu;

    await start(store, { enabled: false, readers }).collectOnce();

    expect(cpu).not.toHaveBeenCalled();
    expect(store.render('prometheus')).toBe('\n');
  });
});

describe.runIf(process.platform === 'linux')('on this host', () => {
  it('collects all three and renders a scrape promtool accepts', async () => {
    const store = new MetricStore();
    const host = start(store, {});
    await host.collectOnce();

    for (const name of COLLECTORS) {
      expect(sample(store, SUCCESS, name)).toBe(1);
    }
    expect(seriesOf(store, RECEIVED)).not.toContain('lo');

    const scrape = store.render('prometheus');
    if (!existsSync('/usr/bin/promtool')) return;
    const check = spawnSync('/usr/bin/promtool', ['check', 'metrics'], {
      input: scrape,
      encoding: 'utf8',
    });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
