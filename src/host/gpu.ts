/**
 * NVIDIA GPUs: utilization, memory and power per device, read with
 * nvidia-smi's CSV query. A host without nvidia-smi on its PATH gets no GPU
 * collector at all, so it shows no GPU series and no failing collector;
 * a host whose nvidia-smi fails (no driver loaded) shows the collector
 * failing, which is worth a look.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { errText, silentLogger, type Logger } from '../log.js';
import { gpu as gpuDefinitions } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import type { HostCollector } from './collector.js';

/** The GPU metrics, as defined in definitions.ts. */
export const gpuMetrics = gpuDefinitions;

/** The fields asked of nvidia-smi, in the order its CSV gives them. */
export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'name',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'power.draw',
] as const;

/** The arguments nvidia-smi runs with. */
export const NVIDIA_SMI_ARGS = [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];

/** One GPU; a value the driver does not report is absent. */
export interface GpuDevice {
  /** The device index nvidia-smi and CUDA number GPUs by, as text. */
  index: string;
  uuid: string;
  name: string;
  utilizationRatio?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  powerWatts?: number;
}

/** nvidia-smi reports memory in MiB when asked for no units. */
const MIB = 1024 * 1024;

/** A number, or undefined for `[N/A]`, `[Not Supported]` and the like. */
function cellNumber(cell: string): number | undefined {
  return /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : undefined;
}

function parseRow(line: string, lineNumber: number): GpuDevice {
  const cells = line.split(',').map((cell) => cell.trim());
  if (cells.length !== NVIDIA_SMI_FIELDS.length) {
    const want = NVIDIA_SMI_FIELDS.length;
    throw new Error(
      `line ${lineNumber} has ${cells.length} columns, want ${want}`,
    );
  }
  const [index, uuid, name, utilization, used, total, power] = cells as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!/^\d+$/.test(index)) {
    throw new Error(
      `line ${lineNumber} has GPU index "${index}", want a number`,
    );
  }

  const device: GpuDevice = { index, uuid, name };
  const percent = cellNumber(utilization);
  if (percent !== undefined) device.utilizationRatio = percent / 100;
  const usedMiB = cellNumber(used);
  if (usedMiB !== undefined) device.memoryUsedBytes = usedMiB * MIB;
  const totalMiB = cellNumber(total);
  if (totalMiB !== undefined) device.memoryTotalBytes = totalMiB * MIB;
  const watts = cellNumber(power);
  if (watts !== undefined) device.powerWatts = watts;
  return device;
}

/** The devices in the output of `nvidia-smi` run with NVIDIA_SMI_ARGS. */
export function parseNvidiaSmiCsv(text: string): GpuDevice[] {
  const devices: GpuDevice[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() !== '') devices.push(parseRow(line, i + 1));
  });
  return devices;
}

/** The first line of text a failed run printed, for the error message. */
function firstLine(...outputs: string[]): string | undefined {
  for (const output of outputs) {
    const line = output.split('\n').find((l) => l.trim() !== '');
    if (line !== undefined) return line.trim();
  }
  return undefined;
}

/** Runs nvidia-smi at `binary`; rejects saying what it printed on failure. */
export function readNvidiaSmi(
  binary: string,
  timeoutSeconds: number,
): Promise<GpuDevice[]> {
  const options = {
    encoding: 'utf8' as const,
    timeout: timeoutSeconds * 1000,
    maxBuffer: 1024 * 1024,
    windowsHide: true,
  };
  return new Promise((resolve, reject) => {
    execFile(binary, NVIDIA_SMI_ARGS, options, (err, stdout, stderr) => {
      if (err) {
        // nvidia-smi prints its own failures, such as no driver, on stdout.
        const said = firstLine(stderr, stdout) ?? errText(err);
        reject(new Error(`running nvidia-smi: ${said}`));
        return;
      }
      try {
        resolve(parseNvidiaSmiCsv(stdout));
      } catch (parseErr) {
        reject(new Error(`parsing nvidia-smi output: ${errText(parseErr)}`));
      }
    });
  });
}

/** The executable `command` in the directories of `pathEnv`, if any. */
export function findOnPath(
  command: string,
  pathEnv: string,
): string | undefined {
  const file = process.platform === 'win32' ? `${command}.exe` : command;
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, file);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/**
 * The GPU collector, until CollectorName lists `gpu`; then it is a plain
 * HostCollector<GpuDevice[]>.
 */
export type GpuCollector = Omit<HostCollector<GpuDevice[]>, 'name'> & {
  readonly name: 'gpu';
};

/**
 * The GPU collector over `read`. Every run replaces all GPU series, so a
 * device that is gone, or a value that turned `[N/A]`, leaves none behind.
 */
export function gpuCollector(
  store: MetricStore,
  read: () => Promise<GpuDevice[]>,
): GpuCollector {
  const f = {
    info: store.gauge(gpuMetrics.info),
    utilization: store.gauge(gpuMetrics.utilization),
    memoryUsed: store.gauge(gpuMetrics.memoryUsed),
    memoryTotal: store.gauge(gpuMetrics.memoryTotal),
    power: store.gauge(gpuMetrics.power),
  };
  const values = [
    [f.utilization, (d: GpuDevice) => d.utilizationRatio],
    [f.memoryUsed, (d: GpuDevice) => d.memoryUsedBytes],
    [f.memoryTotal, (d: GpuDevice) => d.memoryTotalBytes],
    [f.power, (d: GpuDevice) => d.powerWatts],
  ] as const;

  return {
    name: 'gpu',
    collect: read,
    record(devices) {
      for (const family of Object.values(f)) family.reset();
      for (const device of devices) {
        f.info.labels(device.index, device.uuid, device.name).set(1);
        for (const [family, valueOf] of values) {
          const value = valueOf(device);
          if (value === undefined) continue;
          family.labels(device.index, device.uuid).set(value);
        }
      }
    },
  };
}

/** Where to look for nvidia-smi and how long it may take. */
export interface GpuCollectorOptions {
  /** Directories to search, as in PATH; the process's PATH by default. */
  pathEnv?: string;
  /**
   * Longest one nvidia-smi run may take before it is stopped; keep it
   * below the host interval, which bounds each collector run. Default 4.
   */
  timeoutSeconds?: number;
  log?: Logger;
}

/**
 * The GPU collector when nvidia-smi is on the PATH; otherwise undefined,
 * said once at debug level, for hosts that simply have no NVIDIA GPU.
 */
export function gpuCollectorIfPresent(
  store: MetricStore,
  options: GpuCollectorOptions = {},
): GpuCollector | undefined {
  const log = options.log ?? silentLogger;
  const pathEnv = options.pathEnv ?? process.env.PATH ?? '';
  const binary = findOnPath('nvidia-smi', pathEnv);
  if (binary === undefined) {
    log.debug('nvidia-smi not on PATH; no GPU metrics', { collector: 'gpu' });
    return undefined;
  }
  const timeoutSeconds = options.timeoutSeconds ?? 4;
  return gpuCollector(store, () => readNvidiaSmi(binary, timeoutSeconds));
}
