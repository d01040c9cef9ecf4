/**
 * Bytes received and sent per network interface, as counters and as rates
 * since the previous collection. On Linux /proc/net/dev is read directly,
 * one file for all interfaces; systeminformation would start shells per
 * interface there, so it serves only the other platforms.
 */
import { performance } from 'node:perf_hooks';

import si from 'systeminformation';

import { errText } from '../log.js';
import { host } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import type { HostCollector } from './collector.js';
import { CumulativeMirror } from './cumulative.js';
import { readProcFile } from './procfs.js';

/** Byte counters of one interface since it came up. */
export interface InterfaceBytes {
  device: string;
  receiveBytes: number;
  transmitBytes: number;
}

/** Every interface's counters, with the monotonic time they were read. */
export interface NetworkReading {
  atSeconds: number;
  interfaces: InterfaceBytes[];
}

/** Column of the receive and transmit byte counts after the device name. */
const RECEIVE_BYTES = 0;
const TRANSMIT_BYTES = 8;

/** Interface byte counters from the text of /proc/net/dev. */
export function parseProcNetDev(text: string): InterfaceBytes[] {
  const interfaces: InterfaceBytes[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    // The two header lines hold a '|' before any colon, or no colon at all.
    if (colon < 0 || line.slice(0, colon).includes('|')) continue;
    const device = line.slice(0, colon).trim();
    const columns = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const receive = columns[RECEIVE_BYTES] ?? '';
    const transmit = columns[TRANSMIT_BYTES] ?? '';
    if (!/^\d+$/.test(receive) || !/^\d+$/.test(transmit)) {
      throw new Error(`bad byte counts for interface "${device}"`);
    }
    interfaces.push({
      device,
      receiveBytes: Number(receive),
      transmitBytes: Number(transmit),
    });
  }
  return interfaces;
}

async function collectWithSystemInformation(): Promise<InterfaceBytes[]> {
  try {
    const stats = await si.networkStats('*');
    return stats.map((s) => ({
      device: s.iface,
      receiveBytes: s.rx_bytes,
      transmitBytes: s.tx_bytes,
    }));
  } catch (err) {
    const reason = errText(err);
    throw new Error(`reading interfaces with systeminformation: ${reason}`);
  }
}

/** Reads every interface's byte counters from the OS. */
export async function collectNetwork(): Promise<NetworkReading> {
  const interfaces =
    process.platform === 'linux'
      ? await readProcFile('/proc/net/dev', parseProcNetDev)
      : await collectWithSystemInformation();
  return { atSeconds: performance.now() / 1000, interfaces };
}

/** The interfaces whose names `exclude` does not match. */
export function includedInterfaces(
  interfaces: readonly InterfaceBytes[],
  exclude: RegExp,
): InterfaceBytes[] {
  return interfaces.filter((i) => !exclude.test(i.device));
}

/** Bytes per second between two counts; zero when the counter went back. */
function bytesPerSecond(from: number, to: number, seconds: number): number {
  return to >= from ? (to - from) / seconds : 0;
}

/** The network collector; `read` is the OS unless a test replaces it. */
export function networkCollector(
  store: MetricStore,
  exclude: RegExp,
  read: () => Promise<NetworkReading> = collectNetwork,
): HostCollector<NetworkReading> {
  const received = store.counter(host.networkReceive);
  const sent = store.counter(host.networkTransmit);
  const receiveRate = store.gauge(host.networkReceiveRate);
  const transmitRate = store.gauge(host.networkTransmitRate);
  const mirror = new CumulativeMirror();
  let previous:
    | { atSeconds: number; byDevice: Map<string, InterfaceBytes> }
    | undefined;

  return {
    name: 'network',
    collect: read,
    record(reading) {
      const current = includedInterfaces(reading.interfaces, exclude);
      for (const { device, receiveBytes, transmitBytes } of current) {
        mirror.update(received.labels(device), receiveBytes);
        mirror.update(sent.labels(device), transmitBytes);
      }

      // Rates are rebuilt each time, so a vanished interface drops out.
      receiveRate.reset();
      transmitRate.reset();
      if (previous && reading.atSeconds > previous.atSeconds) {
        const elapsed = reading.atSeconds - previous.atSeconds;
        for (const now of current) {
          const before = previous.byDevice.get(now.device);
          if (before === undefined) continue;
          const { receiveBytes: rx, transmitBytes: tx } = before;
          receiveRate
            .labels(now.device)
            .set(bytesPerSecond(rx, now.receiveBytes, elapsed));
          transmitRate
            .labels(now.device)
            .set(bytesPerSecond(tx, now.transmitBytes, elapsed));
        }
      }

      previous = {
        atSeconds: reading.atSeconds,
        byDevice: new Map(current.map((i) => [i.device, i])),
      };
    },
  };
}
