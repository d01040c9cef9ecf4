/**
 * Runs the host collectors on their own interval, apart from scrapes: a
 * scrape reads the values of the last run and never waits for the OS.
 * Each run is timed and guarded here, at one boundary, so a failing
 * collector sets its success gauge to 0, is logged once until it recovers,
 * and leaves the other collectors reporting.
 */
import { gpuCollector, gpuCollectorIfPresent, type GpuDevice } from './gpu.js';
import { performance } from 'node:perf_hooks';

import { defaultConfig, type Config } from '../config/schema.js';
import { errText, silentLogger, type Logger } from '../log.js';
import { host } from '../metrics/definitions.js';
import type { MetricStore } from '../metrics/store.js';
import type { HostCollector } from './collector.js';
import { cpuCollector, type CpuSeconds } from './cpu.js';
import { memoryCollector, type MemoryReading } from './memory.js';
import { networkCollector, type NetworkReading } from './network.js';

/** Where each collector gets its readings; the OS unless replaced. */
export interface HostReaders {
  cpu: () => Promise<CpuSeconds>;
  memory: () => Promise<MemoryReading>;
  network: () => Promise<NetworkReading>;
  /** NVIDIA GPUs; without it, nvidia-smi is used when it is on the PATH. */
  gpu?: () => Promise<GpuDevice[]>;
}

/** Host settings from the config; any left out take their defaults. */
export interface HostCollectorOptions extends Partial<Config['host']> {
  /** Replacements for the OS readers, for tests and other platforms. */
  readers?: Partial<HostReaders>;
}

/** A running host collector. */
export interface HostCollectorHandle {
  /** Stops the interval; a run in progress still finishes. */
  stop(): void;
  /** One run of every collector; joins the run in progress if there is one. */
  collectOnce(): Promise<void>;
}

interface HostSettings {
  enabled: boolean;
  intervalSeconds: number;
  exclude: RegExp;
}

/** Checks the options, naming the config key and the bad value. */
export function resolveHostOptions(
  options: HostCollectorOptions,
): HostSettings {
  const defaults = defaultConfig().host;
  const intervalSeconds = options.intervalSeconds ?? defaults.intervalSeconds;
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new Error(
      `host.interval_seconds must be a positive number of seconds, got ${intervalSeconds}`,
    );
  }
  const pattern = options.networkDeviceExclude ?? defaults.networkDeviceExclude;
  let exclude: RegExp;
  try {
    exclude = new RegExp(pattern);
  } catch (err) {
    throw new Error(
      `host.network_device_exclude must be a regular expression, got "${pattern}": ${errText(err)}`,
    );
  }
  const enabled = options.enabled ?? defaults.enabled;
  return { enabled, intervalSeconds, exclude };
}

/** Rejects when `work` takes longer than `seconds`, so a hung read ends. */
async function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no reading within ${seconds}s`)),
      seconds * 1000,
    );
    timer.unref();
  });
  try {
    return await Promise.race([work, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** A guarded, timed run of one collector; it never rejects. */
function guardedRun<R>(
  collector: HostCollector<R>,
  store: MetricStore,
  timeoutSeconds: number,
  log: Logger,
): () => Promise<void> {
  const success = store.gauge(host.collectorSuccess);
  const duration = store.gauge(host.collectorDuration);
  const name = collector.name;
  let failing = false;

  return async () => {
    const started = performance.now();
    try {
      collector.record(await withTimeout(collector.collect(), timeoutSeconds));
      success.labels(name).set(1);
      if (failing) log.info('host collector recovered', { collector: name });
      failing = false;
    } catch (err) {
      success.labels(name).set(0);
      if (!failing) {
        const fields = { collector: name, err: errText(err) };
        log.warn('host collector failed', fields);
      }
      failing = true;
    }
    duration.labels(name).set((performance.now() - started) / 1000);
  };
}

function buildCollectors(
  store: MetricStore,
  settings: HostSettings,
  readers: Partial<HostReaders>,
  log: Logger,
): Array<HostCollector<unknown>> {
  // Leave a fifth of the interval so a slow nvidia-smi never overlaps runs.
  const gpu = readers.gpu
    ? gpuCollector(store, readers.gpu)
    : gpuCollectorIfPresent(store, {
        timeoutSeconds: settings.intervalSeconds * 0.8,
        log,
      });
  return [
    cpuCollector(store, readers.cpu),
    memoryCollector(store, readers.memory),
    networkCollector(store, settings.exclude, readers.network),
    ...(gpu ? [gpu as HostCollector<unknown>] : []),
  ];
}

/**
 * Starts collecting host CPU, memory and network into `store`: one run
 * now, then one every `intervalSeconds` after the previous run ends, so
 * runs never overlap. Throws only for bad options.
 */
export function startHostCollector(
  store: MetricStore,
  options: HostCollectorOptions = {},
  log: Logger = silentLogger,
): HostCollectorHandle {
  const settings = resolveHostOptions(options);
  const hostLog = log.child('host');
  if (!settings.enabled) {
    hostLog.info('host collector disabled');
    return { stop() {}, collectOnce: async () => {} };
  }

  const collectors = buildCollectors(
    store,
    settings,
    options.readers ?? {},
    hostLog,
  );
  const runs = collectors.map((c) =>
    guardedRun(c, store, settings.intervalSeconds, hostLog),
  );
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const collectOnce = (): Promise<void> => {
    inFlight ??= Promise.allSettled(runs.map((run) => run())).then(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  const scheduleNext = (): void => {
    if (stopped) return;
    timer = setTimeout(
      () => void collectOnce().then(scheduleNext),
      settings.intervalSeconds * 1000,
    );
    // The exporter's server keeps the process alive; this timer should not.
    timer.unref();
  };

  hostLog.info('host collector started', {
    collectors: collectors.map((c) => c.name).join(','),
    interval_seconds: settings.intervalSeconds,
    network_device_exclude: settings.exclude.source,
  });
  void collectOnce().then(scheduleNext);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    collectOnce,
  };
}
