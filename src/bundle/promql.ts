/**
 * Small builders for PromQL text, so every generator spells selectors and
 * aggregations the same way and metric names come only from definitions.
 */
import type { MetricDefinition } from '../metrics/definitions.js';

/** Labels every model-level aggregation keeps. */
export const MODEL_BY = ['model', 'version', 'scene'] as const;

/** `name{matchers}`; empty matchers are dropped. */
export function series(
  name: string | MetricDefinition,
  ...matchers: string[]
): string {
  const metric = typeof name === 'string' ? name : name.name;
  const inside = matchers.filter((m) => m.length > 0).join(',');
  return inside ? `${metric}{${inside}}` : metric;
}

/** `rate(name{matchers}[window])`. */
export function rate(
  def: MetricDefinition,
  window: string,
  ...matchers: string[]
): string {
  return `rate(${series(def, ...matchers)}[${window}])`;
}

/** `sum by (labels) (inner)`, or a plain `sum` without labels. */
export function sumBy(labels: readonly string[], inner: string): string {
  return labels.length === 0
    ? `sum(${inner})`
    : `sum by (${labels.join(', ')}) (${inner})`;
}

/** A counter's name without `_total`, as recording rules name it. */
export function baseName(def: MetricDefinition): string {
  return def.name.replace(/_total$/, '');
}

/**
 * Equality matchers of a selector such as `job="x",env="y"` as labels, for
 * test series that must match it. Regex or negative matchers are rejected,
 * because no single series could stand for them.
 */
export function selectorLabels(selector: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const parts = selector.split(',').map((p) => p.trim());
  for (const part of parts.filter((p) => p.length > 0)) {
    const match = /^([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"$/.exec(part);
    if (!match) {
      throw new Error(
        `selector "${selector}": only name="value" matchers can be turned into test labels`,
      );
    }
    labels[match[1]!] = match[2]!;
  }
  return labels;
}
