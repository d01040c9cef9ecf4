import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import {
  collectCpu,
  cpuCollector,
  cpuSecondsFromCores,
  cpuUtilization,
  parseProcStat,
} from '../../src/host/cpu.js';
import { MetricStore, type StoreSnapshot } from '../../src/metrics/store.js';
import { sample } from './samples.js';

// Recorded with `cat /proc/stat` on a 2-core Linux 6.18 VM, two seconds
// apart, with one core busy in a shell loop in between. Aggregate lines:
//   1: cpu  4725 0 1924 81626 307 0 51 16 0 0
//   2: cpu  4925 0 1924 81826 307 0 51 16 0 0
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const STAT_1 = fixture('proc-stat-1.txt');
const STAT_2 = fixture('proc-stat-2.txt');

const SECONDS = 'inference_host_cpu_seconds_total';
const UTILIZATION = 'inference_host_cpu_utilization_ratio';

/** A positions-file snapshot holding user CPU seconds. */
const restoredUserSeconds = (seconds: number): StoreSnapshot => ({
  counters: { [SECONDS]: [[['user'], seconds]] },
  histograms: {},
});

describe('parseProcStat', () => {
  it('reads the aggregate line in ticks of 1/100 s', () => {
    expect(parseProcStat(STAT_1)).toEqual({
      user: 47.25,
      nice: 0,
      system: 19.24,
      idle: 816.26,
      iowait: 3.07,
      irq: 0,
      softirq: 0.51,
      steal: 0.16,
    });
  });

  it('leaves out guest time, which user and nice already hold', () => {
    const seconds = parseProcStat('cpu  100 20 30 400 5 6 7 8 90 10\n');
    expect(Object.keys(seconds)).not.toContain('guest');
    expect(seconds.user).toBe(1);
    expect(seconds.steal).toBe(0.08);
    expect(Object.values(seconds).reduce((a, b) => a + b, 0)).toBeCloseTo(
      5.76,
      10,
    );
  });

  it('accepts the four columns of old kernels', () => {
    expect(parseProcStat('cpu  10 20 30 40\ncpu0 10 20 30 40\n')).toEqual({
      user: 0.1,
      nice: 0.2,
      system: 0.3,
      idle: 0.4,
    });
  });

  it('rejects text without an aggregate line or with a bad value', () => {
    expect(() => parseProcStat('cpu0 1 2 3 4\n')).toThrow(/no aggregate/);
    expect(() => parseProcStat('cpu  1 2 x 4\n')).toThrow(
      /bad system value "x"/,
    );
    expect(() => parseProcStat('cpu  1 2\n')).toThrow(/2 columns/);
  });
});

describe('cpuUtilization', () => {
  it('is the busy share between two snapshots', () => {
    // user +200 ticks, idle +200 ticks, nothing else moved: 1 - 200/400.
    const ratio = cpuUtilization(parseProcStat(STAT_1), parseProcStat(STAT_2));
    expect(ratio).toBeCloseTo(0.5, 12);
  });

  it('is the busy share since boot without a previous snapshot', () => {
    // Busy ticks 4725 + 1924 + 307 + 51 + 16 = 7023 of 88649 in all.
    expect(cpuUtilization(undefined, parseProcStat(STAT_1))).toBeCloseTo(
      7023 / 88649,
      12,
    );
  });

  it('is undefined when no time passed', () => {
    const same = parseProcStat(STAT_1);
    expect(cpuUtilization(same, same)).toBeUndefined();
  });
});

describe('cpuSecondsFromCores', () => {
  it('sums the per-core milliseconds into seconds by mode', () => {
    const core = (times: number[]) => {
      const [user = 0, nice = 0, sys = 0, idle = 0, irq = 0] = times;
      return { model: 'test', speed: 0, times: { user, nice, sys, idle, irq } };
    };
    const seconds = cpuSecondsFromCores([
      core([1000, 0, 500, 8000, 10]),
      core([3000, 200, 700, 6000, 0]),
    ]);
    expect(seconds).toEqual({
      user: 4,
      nice: 0.2,
      system: 1.2,
      idle: 14,
      irq: 0.01,
    });
    expect(() => cpuSecondsFromCores([])).toThrow(/no cores/);
  });
});

describe('cpuCollector', () => {
  it('exports the OS counters and the utilization between runs', () => {
    const store = new MetricStore();
    const cpu = cpuCollector(store);

    cpu.record(parseProcStat(STAT_1));
    expect(sample(store, SECONDS, 'user')).toBe(47.25);
    expect(sample(store, SECONDS, 'idle')).toBe(816.26);
    expect(sample(store, UTILIZATION)).toBeCloseTo(7023 / 88649, 12);

    cpu.record(parseProcStat(STAT_2));
    expect(sample(store, SECONDS, 'user')).toBeCloseTo(49.25, 9);
    expect(sample(store, SECONDS, 'idle')).toBeCloseTo(818.26, 9);
    expect(sample(store, SECONDS, 'system')).toBe(19.24);
    expect(sample(store, UTILIZATION)).toBeCloseTo(0.5, 12);
  });

  it('adds only new time to counters restored within the same boot', () => {
    const store = new MetricStore();
    const cpu = cpuCollector(store);
    store.restore(restoredUserSeconds(40));

    cpu.record(parseProcStat(STAT_1));
    expect(sample(store, SECONDS, 'user')).toBe(47.25);
  });

  it('keeps counters restored from a previous boot and adds to them', () => {
    const store = new MetricStore();
    const cpu = cpuCollector(store);
    store.restore(restoredUserSeconds(100));

    cpu.record(parseProcStat(STAT_1));
    expect(sample(store, SECONDS, 'user')).toBe(100);
    cpu.record(parseProcStat(STAT_2));
    expect(sample(store, SECONDS, 'user')).toBe(102);
  });

  it('never lowers a counter when the OS value goes back', () => {
    const store = new MetricStore();
    const cpu = cpuCollector(store);
    cpu.record(parseProcStat('cpu  100 0 0 1000 50 0 0 0\n'));
    cpu.record(parseProcStat('cpu  100 0 0 1100 40 0 0 0\n'));
    expect(sample(store, SECONDS, 'iowait')).toBe(0.5);
    // The lower reading is the new base: +3 ticks from 40, not from 50.
    cpu.record(parseProcStat('cpu  100 0 0 1200 43 0 0 0\n'));
    expect(sample(store, SECONDS, 'iowait')).toBeCloseTo(0.53, 12);
  });
});

describe.runIf(process.platform === 'linux')('collectCpu on this host', () => {
  it('matches /proc/stat read around it', async () => {
    const userSeconds = (text: string): number => {
      const line = text.split('\n').find((l) => l.startsWith('cpu '))!;
      return Number(line.split(/\s+/)[1]) / 100;
    };
    const before = userSeconds(readFileSync('/proc/stat', 'utf8'));
    const reading = await collectCpu();
    const after = userSeconds(readFileSync('/proc/stat', 'utf8'));

    expect(reading.user).toBeGreaterThanOrEqual(before);
    expect(reading.user).toBeLessThanOrEqual(after);
    expect(reading.idle).toBeGreaterThan(0);
  });
});
