/**
 * Mirrors cumulative counters kept by the operating system (CPU time,
 * interface bytes) into store counters, which can only grow.
 */
import type { CounterChild } from '../metrics/store.js';

/**
 * Follows one OS reading per counter child. The first reading lifts the
 * child to the OS value: from zero that exports the value since boot, and
 * after counters were restored from a positions file within the same boot
 * it adds only what is new instead of counting the whole boot twice. Later
 * readings add the change since the previous reading. A reading lower than
 * the previous one (an interface re-created, a kernel that let iowait slip
 * back) becomes the new base and adds nothing, so a rate never spikes.
 */
export class CumulativeMirror {
  private readonly previous = new Map<CounterChild, number>();

  /** Brings `child` up to date with the OS value `reading`. */
  update(child: CounterChild, reading: number): void {
    const base = this.previous.get(child) ?? child.value;
    if (reading > base) child.inc(reading - base);
    this.previous.set(child, reading);
  }
}
