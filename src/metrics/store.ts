/**
 * The exporter's own metric store. It keeps label-keyed children in maps so
 * the ingest hot path costs one map lookup per line, renders the Prometheus
 * text format and OpenMetrics, and can snapshot and restore its counters and
 * histograms, which prom-client cannot, so that a restart loses no counts.
 */
import type { MetricDefinition } from './definitions.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

const SEP = '\u0000';

/** Counters and histograms as plain data, for the positions file. */
export interface StoreSnapshot {
  counters: Record<string, Array<[string[], number]>>;
  histograms: Record<string, Array<[string[], number[], number, number]>>;
}

abstract class Family<C> {
  readonly children = new Map<string, { values: string[]; child: C }>();

  constructor(readonly def: MetricDefinition) {}

  protected abstract create(): C;

  /** The child for these label values, in the definition's label order. */
  labels(...values: string[]): C {
    const key = values.length === 1 ? values[0]! : values.join(SEP);
    const found = this.children.get(key);
    if (found) return found.child;
    if (values.length !== this.def.labels.length) {
      throw new Error(
        `${this.def.name}: expected ${this.def.labels.length} label values, got ${values.length}`,
      );
    }
    const child = this.create();
    this.children.set(key, { values: [...values], child });
    return child;
  }

  /** Drops every child; for gauges rebuilt on each collection. */
  reset(): void {
    this.children.clear();
  }
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class GaugeChild {
  value = 0;
  set(v: number): void {
    this.value = v;
  }
  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    if (i < b.length) this.counts[i]! += 1;
    this.sum += v;
    this.count += 1;
  }
}

export class CounterFamily extends Family<CounterChild> {
  protected create(): CounterChild {
    return new CounterChild();
  }
}

export class GaugeFamily extends Family<GaugeChild> {
  protected create(): GaugeChild {
    return new GaugeChild();
  }
}

export class HistogramFamily extends Family<HistogramChild> {
  constructor(
    def: MetricDefinition,
    readonly bounds: readonly number[],
  ) {
    super(def);
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.bounds);
  }
}

type AnyFamily = CounterFamily | GaugeFamily | HistogramFamily;

export class MetricStore {
  private readonly families: AnyFamily[] = [];
  private readonly byName = new Map<string, AnyFamily>();
  /** Saved values of families not created yet. */
  private readonly pendingCounters = new Map<
    string,
    StoreSnapshot['counters'][string]
  >();
  private readonly pendingHistograms = new Map<
    string,
    StoreSnapshot['histograms'][string]
  >();
  private readonly collectHooks: Array<() => void> = [];

  /** The counter family for a definition, created on first use. */
  counter(def: MetricDefinition): CounterFamily {
    return (
      this.existing(def, CounterFamily) ?? this.add(new CounterFamily(def))
    );
  }

  gauge(def: MetricDefinition): GaugeFamily {
    return this.existing(def, GaugeFamily) ?? this.add(new GaugeFamily(def));
  }

  histogram(def: MetricDefinition, bounds: readonly number[]): HistogramFamily {
    return (
      this.existing(def, HistogramFamily) ??
      this.add(new HistogramFamily(def, bounds))
    );
  }

  private existing<F extends AnyFamily>(
    def: MetricDefinition,
    kind: abstract new (...args: never[]) => F,
  ): F | undefined {
    const found = this.byName.get(def.name);
    if (found === undefined) return undefined;
    if (!(found instanceof kind) || found.def !== def) {
      throw new Error(
        `metric ${def.name} registered twice with different definitions`,
      );
    }
    return found;
  }

  /** Runs before every render, to refresh gauges computed on demand. */
  onCollect(hook: () => void): void {
    this.collectHooks.push(hook);
  }

  get(name: string): AnyFamily | undefined {
    return this.byName.get(name);
  }

  private add<F extends AnyFamily>(family: F): F {
    if (this.byName.has(family.def.name)) {
      throw new Error(`metric ${family.def.name} registered twice`);
    }
    this.families.push(family);
    this.byName.set(family.def.name, family);
    this.applyRestore(family);
    return family;
  }

  /** Runs the collect hooks; a failing hook is reported, never thrown. */
  collect(onError: (err: unknown) => void = () => {}): void {
    for (const hook of this.collectHooks) {
      try {
        hook();
      } catch (err) {
        onError(err);
      }
    }
  }

  /** Renders every family in the given exposition format. */
  render(format: ExpositionFormat): string {
    const out: string[] = [];
    for (const family of this.families) {
      renderFamily(family, format, out);
    }
    if (format === 'openmetrics') out.push('# EOF');
    return out.join('\n') + '\n';
  }

  /** Counters and histograms whose names `include` accepts, as plain data. */
  snapshot(include: (name: string) => boolean = () => true): StoreSnapshot {
    const snap: StoreSnapshot = { counters: {}, histograms: {} };
    for (const f of this.families) {
      if (!include(f.def.name)) continue;
      if (f instanceof CounterFamily) {
        snap.counters[f.def.name] = [...f.children.values()].map((c) => [
          c.values,
          c.child.value,
        ]);
      } else if (f instanceof HistogramFamily) {
        snap.histograms[f.def.name] = [...f.children.values()].map((c) => [
          c.values,
          [...c.child.counts],
          c.child.sum,
          c.child.count,
        ]);
      }
    }
    return snap;
  }

  /** Adds a snapshot's values onto the current ones. */
  restore(snap: StoreSnapshot): void {
    for (const [name, rows] of Object.entries(snap.counters ?? {})) {
      this.pendingCounters.set(name, rows);
    }
    for (const [name, rows] of Object.entries(snap.histograms ?? {})) {
      this.pendingHistograms.set(name, rows);
    }
    for (const family of this.families) this.applyRestore(family);
  }

  /**
   * Adds the saved values of one family, once. Families created after
   * `restore`, by parts of the exporter that start later, get theirs when
   * they are created.
   */
  private applyRestore(f: AnyFamily): void {
    const name = f.def.name;
    if (f instanceof CounterFamily) {
      for (const [values, v] of this.pendingCounters.get(name) ?? []) {
        if (values.length === f.def.labels.length) f.labels(...values).inc(v);
      }
      this.pendingCounters.delete(name);
    } else if (f instanceof HistogramFamily) {
      for (const [values, counts, sum, count] of this.pendingHistograms.get(
        name,
      ) ?? []) {
        if (values.length !== f.def.labels.length) continue;
        if (counts.length !== f.bounds.length) continue;
        const child = f.labels(...values);
        counts.forEach((c, i) => (child.counts[i]! += c));
        child.sum += sum;
        child.count += count;
      }
      this.pendingHistograms.delete(name);
    }
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function labelString(
  names: readonly string[],
  values: string[],
  extra = '',
): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) {
    parts.push(`${names[i]}="${escapeLabel(values[i]!)}"`);
  }
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function renderFamily(
  f: AnyFamily,
  format: ExpositionFormat,
  out: string[],
): void {
  const { name, help, labels } = f.def;
  const om = format === 'openmetrics';
  const isCounter = f instanceof CounterFamily;
  const base = om && isCounter ? name.replace(/_total$/, '') : name;
  const type =
    f instanceof HistogramFamily
      ? 'histogram'
      : isCounter
        ? 'counter'
        : 'gauge';

  out.push(`# HELP ${base} ${escapeHelp(help)}`, `# TYPE ${base} ${type}`);
  if (f instanceof HistogramFamily) {
    for (const { values, child } of f.children.values()) {
      let cumulative = 0;
      f.bounds.forEach((bound, i) => {
        cumulative += child.counts[i]!;
        const le = `le="${formatValue(bound)}"`;
        out.push(
          `${name}_bucket${labelString(labels, values, le)} ${cumulative}`,
        );
      });
      out.push(
        `${name}_bucket${labelString(labels, values, 'le="+Inf"')} ${child.count}`,
      );
      out.push(
        `${name}_sum${labelString(labels, values)} ${formatValue(child.sum)}`,
      );
      out.push(`${name}_count${labelString(labels, values)} ${child.count}`);
    }
    return;
  }
  const sample = om && isCounter ? `${base}_total` : name;
  for (const { values, child } of f.children.values()) {
    out.push(
      `${sample}${labelString(labels, values)} ${formatValue(child.value)}`,
    );
  }
}
