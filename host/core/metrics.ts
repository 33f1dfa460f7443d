// Plugin-defined metrics, process-wide like Envoy's stats store: every VM that defines the same
// name (e.g. the sender's per-worker VMs) shares one counter/gauge/histogram.

import { MetricType } from '../../src/abi/table.js';

export interface Metric {
  readonly name: string;
  readonly type: MetricType;
  value: number;
  /** The last MAX_SAMPLES recorded histogram samples, for quantiles (a ring: not in time order). */
  readonly samples: number[];
  /** Where the next sample goes once the ring is full. */
  sampleCursor: number;
}

const MAX_SAMPLES = 10_000;
const QUANTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100] as const;

export class MetricStore {
  private readonly byName = new Map<string, Metric>();

  /** Returns the existing metric of that name, or creates it. */
  define(type: MetricType, name: string): Metric {
    const existing = this.byName.get(name);
    if (existing && existing.type === type) return existing;
    const metric: Metric = { name, type, value: 0, samples: [], sampleCursor: 0 };
    this.byName.set(name, metric);
    return metric;
  }

  get(name: string): Metric | undefined {
    return this.byName.get(name);
  }

  all(): Metric[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  static record(metric: Metric, value: number): void {
    // Overwrites the oldest sample in place once full (shift() would move 10k numbers per call).
    if (metric.samples.length < MAX_SAMPLES) {
      metric.samples.push(value);
      return;
    }
    metric.samples[metric.sampleCursor] = value;
    metric.sampleCursor = (metric.sampleCursor + 1) % MAX_SAMPLES;
  }

  /** Text like Envoy's admin `/stats`: `name: value`, histograms as quantile lists. */
  toText(): string {
    return this.all().map((m) => `${m.name}: ${formatValue(m)}\n`).join('');
  }
}

function formatValue(metric: Metric): string {
  if (metric.type !== MetricType.Histogram) return String(metric.value);
  if (metric.samples.length === 0) return 'No recorded values';
  const sorted = [...metric.samples].sort((a, b) => a - b);
  return QUANTILES.map((q) => {
    const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
    return `P${q}(nan,${sorted[index]})`;
  }).join(' ');
}
