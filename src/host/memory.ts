/**
 * Physical memory: total, available, used and the share in use, read with
 * systeminformation (on Linux it parses /proc/meminfo).
 */
import si from 'systeminformation';

import { errText } from '../log.js';
import { host } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import type { HostCollector } from './collector.js';

/** One memory reading, in bytes. */
export interface MemoryReading {
  totalBytes: number;
  availableBytes: number;
  /**
   * Total less available, as `free` from procps-ng 4 counts it: buffers and
   * the page cache the kernel can reclaim are not in use by anyone.
   */
  usedBytes: number;
}

/** A reading from total and available bytes; rejects impossible totals. */
export function memoryReading(
  totalBytes: number,
  availableBytes: number,
): MemoryReading {
  if (!Number.isFinite(totalBytes) || totalBytes <= 0) {
    throw new Error(`total memory is ${totalBytes}, want a positive number`);
  }
  if (!Number.isFinite(availableBytes)) {
    throw new Error(`available memory is ${availableBytes}, want a number`);
  }
  const available = Math.min(totalBytes, Math.max(0, availableBytes));
  return {
    totalBytes,
    availableBytes: available,
    usedBytes: totalBytes - available,
  };
}

/** Reads physical memory from the OS. */
export async function collectMemory(): Promise<MemoryReading> {
  let data: { total: number; available: number };
  try {
    data = await si.mem();
  } catch (err) {
    throw new Error(`reading memory with systeminformation: ${errText(err)}`);
  }
  return memoryReading(data.total, data.available);
}

/** The memory collector; `read` is the OS unless a test replaces it. */
export function memoryCollector(
  store: MetricStore,
  read: () => Promise<MemoryReading> = collectMemory,
): HostCollector<MemoryReading> {
  // Children are made on the first good reading, so that a host whose
  // memory cannot be read shows no series rather than zeros.
  const total = store.gauge(host.memoryTotal);
  const used = store.gauge(host.memoryUsed);
  const available = store.gauge(host.memoryAvailable);
  const utilization = store.gauge(host.memoryUtilization);

  return {
    name: 'memory',
    collect: read,
    record(reading) {
      const { totalBytes, usedBytes, availableBytes } = reading;
      total.labels().set(totalBytes);
      used.labels().set(usedBytes);
      available.labels().set(availableBytes);
      utilization.labels().set(1 - availableBytes / totalBytes);
    },
  };
}
