/** Reads sample values out of a store, for assertions. */
import {
  CounterFamily,
  GaugeFamily,
  type MetricStore,
} from '../../src/metrics/store.js';

/** The value of the series with these label values, or undefined. */
export function sample(
  store: MetricStore,
  name: string,
  ...labels: string[]
): number | undefined {
  const family = store.get(name);
  if (!(family instanceof CounterFamily || family instanceof GaugeFamily)) {
    return undefined;
  }
  for (const { values, child } of family.children.values()) {
    if (values.join(',') === labels.join(',')) return child.value;
  }
  return undefined;
}

/** The label values of every series of a family, joined by commas. */
export function seriesOf(store: MetricStore, name: string): string[] {
  const family = store.get(name);
  if (family === undefined) return [];
  return [...family.children.values()].map((c) => c.values.join(','));
}
