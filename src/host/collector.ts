/**
 * The shape every host collector shares, so that one runner can time,
 * guard and report them all alike; the runner's entry point is exported
 * here too, as the host folder's front door.
 */

export {
  startHostCollector,
  type HostCollectorHandle,
  type HostCollectorOptions,
} from './runner.js';

/** Names used as the `collector` label of the collector self-metrics. */
export type CollectorName = 'cpu' | 'memory' | 'network' | 'gpu';

/** One host collector: a reading from the OS, then its metrics. */
export interface HostCollector<Reading> {
  readonly name: CollectorName;
  /** Reads the OS; rejects with an error that says what failed to read. */
  collect(): Promise<Reading>;
  /** Writes a successful reading into the store. */
  record(reading: Reading): void;
}
