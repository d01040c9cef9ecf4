/**
 * CPU time by mode and CPU utilization. On Linux the aggregate line of
 * /proc/stat is read directly, one small file per run; elsewhere the
 * per-core times that Node.js reports are summed.
 */
import os from 'node:os';

import { host } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import type { HostCollector } from './collector.js';
import { CumulativeMirror } from './cumulative.js';
import { readProcFile } from './procfs.js';

/** Clock ticks per second in /proc/stat; Linux fixes it at 100. */
export const USER_HZ = 100;

/**
 * The /proc/stat columns after `cpu`, in order. The two guest columns
 * that may follow are left out: the kernel already counts them inside
 * user and nice, so reporting them would count that time twice.
 */
const PROC_STAT_MODES = [
  'user',
  'nice',
  'system',
  'idle',
  'iowait',
  'irq',
  'softirq',
  'steal',
] as const;

/** Seconds of CPU time by mode since boot, summed over all cores. */
export type CpuSeconds = Readonly<Record<string, number>>;

/** CPU seconds by mode from the text of /proc/stat. */
export function parseProcStat(text: string): CpuSeconds {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no aggregate "cpu" line');
  const ticks = line.trim().split(/\s+/).slice(1);
  if (ticks.length < 4) {
    const found = `${ticks.length} columns`;
    throw new Error(`aggregate "cpu" line has ${found}, want 4 or more`);
  }

  const seconds: Record<string, number> = {};
  PROC_STAT_MODES.forEach((mode, i) => {
    const column = ticks[i];
    if (column === undefined) return;
    if (!/^\d+$/.test(column)) {
      throw new Error(`bad ${mode} value "${column}" in aggregate "cpu" line`);
    }
    seconds[mode] = Number(column) / USER_HZ;
  });
  return seconds;
}

/** CPU seconds by mode from Node's per-core times, given in milliseconds. */
export function cpuSecondsFromCores(cores: readonly os.CpuInfo[]): CpuSeconds {
  if (cores.length === 0) throw new Error('os.cpus() reported no cores');
  const millis = { user: 0, nice: 0, system: 0, idle: 0, irq: 0 };
  for (const { times } of cores) {
    millis.user += times.user;
    millis.nice += times.nice;
    millis.system += times.sys;
    millis.idle += times.idle;
    millis.irq += times.irq;
  }
  const seconds: Record<string, number> = {};
  for (const [mode, ms] of Object.entries(millis)) seconds[mode] = ms / 1000;
  return seconds;
}

/** Reads CPU seconds by mode from the OS. */
export async function collectCpu(): Promise<CpuSeconds> {
  if (process.platform !== 'linux') return cpuSecondsFromCores(os.cpus());
  return readProcFile('/proc/stat', parseProcStat);
}

function totalSeconds(reading: CpuSeconds): number {
  let total = 0;
  for (const seconds of Object.values(reading)) total += seconds;
  return total;
}

/**
 * The share of CPU time that was not idle between two readings, or since
 * boot without a previous one. Undefined when no time passed between them.
 * Iowait counts as busy, so the ratio equals one minus the rate of the
 * idle counter over the rate of all counters.
 */
export function cpuUtilization(
  previous: CpuSeconds | undefined,
  current: CpuSeconds,
): number | undefined {
  const total = totalSeconds(current) - (previous ? totalSeconds(previous) : 0);
  const idle = (current.idle ?? 0) - (previous?.idle ?? 0);
  if (!(total > 0)) return undefined;
  return Math.min(1, Math.max(0, 1 - idle / total));
}

/** The CPU collector; `read` is the OS unless a test replaces it. */
export function cpuCollector(
  store: MetricStore,
  read: () => Promise<CpuSeconds> = collectCpu,
): HostCollector<CpuSeconds> {
  const seconds = store.counter(host.cpuSeconds);
  const utilization = store.gauge(host.cpuUtilization);
  const mirror = new CumulativeMirror();
  let previous: CpuSeconds | undefined;

  return {
    name: 'cpu',
    collect: read,
    record(reading) {
      for (const [mode, value] of Object.entries(reading)) {
        mirror.update(seconds.labels(mode), value);
      }
      const ratio = cpuUtilization(previous, reading);
      if (ratio !== undefined) utilization.labels().set(ratio);
      previous = reading;
    },
  };
}
