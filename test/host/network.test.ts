import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { defaultConfig } from '../../src/config/schema.js';
import {
  collectNetwork,
  includedInterfaces,
  networkCollector,
  parseProcNetDev,
  type InterfaceBytes,
} from '../../src/host/network.js';
import { MetricStore } from '../../src/metrics/store.js';
import { sample, seriesOf } from './samples.js';

// Recorded with `cat /proc/net/dev` on a Linux 6.18 VM before and after
// sending 100000 bytes over a TCP connection on 127.0.0.1; loopback went
// from 3193 to 103781 bytes each way, the other interfaces did not move.
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const DEV_1 = parseProcNetDev(fixture('proc-net-dev-1.txt'));
const DEV_2 = parseProcNetDev(fixture('proc-net-dev-2.txt'));

const DEFAULT_EXCLUDE = new RegExp(defaultConfig().host.networkDeviceExclude);
const NOTHING = /^$/;
const RX = 'inference_host_network_receive_bytes_total';
const TX = 'inference_host_network_transmit_bytes_total';
const RX_RATE = 'inference_host_network_receive_bytes_per_second';
const TX_RATE = 'inference_host_network_transmit_bytes_per_second';

const nic = (device: string, rx: number, tx: number): InterfaceBytes => ({
  device,
  receiveBytes: rx,
  transmitBytes: tx,
});

describe('parseProcNetDev', () => {
  it('reads the receive and transmit bytes of every interface', () => {
    expect(DEV_1).toEqual([
      nic('lo', 3193, 3193),
      nic('ifb0', 0, 0),
      nic('ifb1', 0, 0),
      nic('eth0', 251958832, 440009),
    ]);
    expect(DEV_2[0]).toEqual(nic('lo', 103781, 103781));
  });

  it('rejects a line whose counts are not numbers', () => {
    expect(() => parseProcNetDev('  eth0: 12 x\n')).toThrow(/"eth0"/);
  });
});

describe('includedInterfaces', () => {
  it('drops what the default pattern names and keeps the rest', () => {
    const names = ['lo', 'veth1a2b', 'docker0', 'br-9f3c', 'eth0', 'lo0'];
    const all = [...names, 'ens5'].map((n) => nic(n, 0, 0));
    const kept = includedInterfaces(all, DEFAULT_EXCLUDE).map((i) => i.device);
    expect(kept).toEqual(['eth0', 'lo0', 'ens5']);
  });
});

describe('networkCollector', () => {
  it('exports the OS counters and the rates between two readings', () => {
    const store = new MetricStore();
    const network = networkCollector(store, NOTHING);

    network.record({ atSeconds: 10, interfaces: DEV_1 });
    expect(sample(store, RX, 'eth0')).toBe(251958832);
    expect(sample(store, TX, 'lo')).toBe(3193);
    expect(seriesOf(store, RX_RATE)).toEqual([]);

    network.record({ atSeconds: 12, interfaces: DEV_2 });
    expect(sample(store, RX, 'lo')).toBe(103781);
    // (103781 - 3193) bytes over 2 s.
    expect(sample(store, RX_RATE, 'lo')).toBe(50294);
    expect(sample(store, TX_RATE, 'lo')).toBe(50294);
    expect(sample(store, RX_RATE, 'eth0')).toBe(0);
  });

  it('reports nothing for excluded interfaces', () => {
    const store = new MetricStore();
    const network = networkCollector(store, DEFAULT_EXCLUDE);
    network.record({ atSeconds: 1, interfaces: DEV_1 });
    network.record({ atSeconds: 2, interfaces: DEV_2 });

    for (const name of [RX, TX, RX_RATE, TX_RATE]) {
      expect(seriesOf(store, name)).toEqual(['ifb0', 'ifb1', 'eth0']);
    }
  });

  it('holds counters and shows a zero rate when the OS count restarts', () => {
    const store = new MetricStore();
    const network = networkCollector(store, NOTHING);
    network.record({ atSeconds: 0, interfaces: [nic('wg0', 5000, 800)] });
    network.record({ atSeconds: 5, interfaces: [nic('wg0', 100, 40)] });

    expect(sample(store, RX, 'wg0')).toBe(5000);
    expect(sample(store, RX_RATE, 'wg0')).toBe(0);

    network.record({ atSeconds: 10, interfaces: [nic('wg0', 600, 90)] });
    expect(sample(store, RX, 'wg0')).toBe(5500);
    expect(sample(store, TX, 'wg0')).toBe(850);
    expect(sample(store, RX_RATE, 'wg0')).toBe(100);
    expect(sample(store, TX_RATE, 'wg0')).toBe(10);
  });

  it('drops the rates of an interface that went away', () => {
    const store = new MetricStore();
    const network = networkCollector(store, NOTHING);
    const at = (atSeconds: number, ...interfaces: InterfaceBytes[]) => ({
      atSeconds,
      interfaces,
    });
    network.record(at(0, nic('a', 0, 0), nic('b', 0, 0)));
    network.record(at(1, nic('a', 10, 0), nic('b', 0, 0)));
    network.record(at(2, nic('a', 30, 0)));

    expect(seriesOf(store, RX_RATE)).toEqual(['a']);
    expect(sample(store, RX_RATE, 'a')).toBe(20);
    expect(sample(store, RX, 'b')).toBe(0);
  });
});

const onLinux = describe.runIf(process.platform === 'linux');

onLinux('collectNetwork on this host', () => {
  it('finds loopback with at least the bytes seen just before', async () => {
    const before = parseProcNetDev(readFileSync('/proc/net/dev', 'utf8'));
    const loBefore = before.find((i) => i.device === 'lo');
    const reading = await collectNetwork();
    const lo = reading.interfaces.find((i) => i.device === 'lo');

    expect(loBefore).toBeDefined();
    expect(lo?.receiveBytes).toBeGreaterThanOrEqual(loBefore!.receiveBytes);
    expect(reading.interfaces.map((i) => i.device).sort()).toEqual(
      before.map((i) => i.device).sort(),
    );
  });
});
