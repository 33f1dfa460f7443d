// The receiver's merge of every sender's messages, per aggregation window (the publish
// interval, aligned to the epoch), projected onto the configured dimensions.
//
// Bounds: `maxSeries` series in total over all buffered windows (further new series fold into
// that window's overflow series, dimension values all `_overflow`); the datum budget is enforced
// by the caller through `datumCount` and `dropOldest`, oldest window first.

import type { DimensionName } from '../config/dimensions.js';
import { OVERFLOW_VALUE, statusClass } from './dimensions.js';
import { LatencyHistogram } from './latency.js';
import type { WireMessage, WireSeries } from './wire.js';

export class MergedSeries {
  count = 0;
  readonly latency = new LatencyHistogram();
  constructor(readonly dimensionValues: readonly string[]) {}

  /** Datums this series publishes: the count, plus the latency one when it has values. */
  get datums(): number {
    return this.latency.size > 0 ? 2 : 1;
  }
}

export interface WindowSnapshot {
  readonly windowStartMs: number;
  readonly series: readonly MergedSeries[];
}

interface Window {
  readonly startMs: number;
  readonly series: Map<string, MergedSeries>;
}

export interface MergeOutcome {
  /** Series entries of the message folded into an overflow series. */
  readonly overflowedSeries: number;
}

export class Merger {
  /** Oldest window first (insertion order of a Map). */
  private readonly windows = new Map<number, Window>();
  private seriesTotal = 0;
  private datumTotal = 0;
  private readonly overflowValues: readonly string[];
  private readonly overflowKey: string;

  constructor(
    private readonly intervalMs: number,
    private readonly dimensions: readonly DimensionName[],
    private readonly maxSeries: number,
  ) {
    this.overflowValues = dimensions.map(() => OVERFLOW_VALUE);
    this.overflowKey = this.overflowValues.join('\u0000');
  }

  windowStartFor(timeMs: number): number {
    return Math.floor(timeMs / this.intervalMs) * this.intervalMs;
  }

  get seriesCount(): number {
    return this.seriesTotal;
  }

  get datumCount(): number {
    return this.datumTotal;
  }

  add(message: WireMessage): MergeOutcome {
    const window = this.window(this.windowStartFor(message.windowStartMs));
    let overflowed = 0;
    for (const entry of message.series) {
      const values = this.project(entry);
      const key = values.join('\u0000');
      let series = window.series.get(key);
      if (series === undefined) {
        if (key !== this.overflowKey && this.seriesTotal >= this.maxSeries) {
          overflowed++;
          series = this.seriesIn(window, this.overflowKey, this.overflowValues);
        } else {
          series = this.seriesIn(window, key, values);
        }
      }
      const before = series.datums;
      series.count += entry.count;
      const flat = entry.latency;
      for (let i = 0; i < flat.length; i += 2) series.latency.add(flat[i]!, flat[i + 1]!);
      this.datumTotal += series.datums - before;
    }
    return { overflowedSeries: overflowed };
  }

  /** Removes and returns the buffered windows that start before `beforeMs` (default: all), oldest first. */
  drain(beforeMs: number = Infinity): WindowSnapshot[] {
    const snapshots: WindowSnapshot[] = [];
    for (const window of this.oldestFirst()) {
      if (window.startMs >= beforeMs) break;
      snapshots.push({ windowStartMs: window.startMs, series: [...window.series.values()] });
      this.windows.delete(window.startMs);
      for (const series of window.series.values()) {
        this.seriesTotal--;
        this.datumTotal -= series.datums;
      }
    }
    return snapshots;
  }

  /** Drops whole series, oldest window first, until `datums` datums are gone; returns how many went. */
  dropOldest(datums: number): number {
    let dropped = 0;
    for (const window of this.oldestFirst()) {
      for (const [key, series] of window.series) {
        if (dropped >= datums) return dropped;
        window.series.delete(key);
        dropped += series.datums;
        this.datumTotal -= series.datums;
        this.seriesTotal--;
      }
      if (window.series.size === 0) this.windows.delete(window.startMs);
      if (dropped >= datums) return dropped;
    }
    return dropped;
  }

  private window(startMs: number): Window {
    let window = this.windows.get(startMs);
    if (window === undefined) {
      window = { startMs, series: new Map() };
      this.windows.set(startMs, window);
    }
    return window;
  }

  private seriesIn(window: Window, key: string, values: readonly string[]): MergedSeries {
    let series = window.series.get(key);
    if (series === undefined) {
      series = new MergedSeries(values);
      window.series.set(key, series);
      this.seriesTotal++;
      this.datumTotal += 1; // the count datum; the latency datum is added when values arrive
    }
    return series;
  }

  /** Windows by start time: a late message can create an older window after a newer one. */
  private oldestFirst(): Window[] {
    return [...this.windows.values()].sort((a, b) => a.startMs - b.startMs);
  }

  private project(entry: WireSeries): string[] {
    return this.dimensions.map((name) => (name === 'status_class' ? statusClass(entry.status) : entry[name]));
  }
}
