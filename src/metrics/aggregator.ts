// The sender's per-VM aggregation: requests → series (host, method, path, status) with a count
// and a latency histogram, until the next flush. `recordRequest` is the per-request hot path (it
// runs interpreted in QuickJS, where each call, allocation or indexOf costs ~0.1-0.3 µs): one
// template-literal key of the raw request values, one Map lookup, a few increments. Only a
// request whose raw values are new in the window pays for path normalisation and bounding
// (`record`). Dimension values are only length-bounded on the hot path; making them acceptable
// to CloudWatch (cleanDimensionValue) happens once per series at flush.
//
// Bounds: at most `maxSeries` distinct series per flush window (the tick); further new series
// fold into one overflow series whose dimension values are all `_overflow`. A size bound
// (`maxEntriesPerMessage`, series + latency buckets) tells the caller to flush early so one
// queue message stays small; an early flush keeps the window's series keys, so the cap still
// holds until the tick's flush starts a new window.

import { boundDimensionValue, cleanDimensionValue, OVERFLOW_VALUE } from './dimensions.js';
import { LatencyHistogram } from './latency.js';
import type { WireMessage, WireSeries } from './wire.js';

/** ~20,000 entries ≈ 200-400 KB of JSON per queue message. */
export const DEFAULT_MAX_ENTRIES_PER_MESSAGE = 20_000;

const NO_LATENCY = -1;

/**
 * Raw-values → series shortcuts kept per window: a few per series normally; a spray of distinct
 * raw values (random query strings) empties it when full, so memory stays bounded.
 */
const MIN_RAW_SHORTCUTS = 1024;
const MAX_RAW_SHORTCUTS = 20_000;

class SeriesStats {
  count = 0;
  readonly latency = new LatencyHistogram();
  constructor(readonly host: string, readonly method: string, readonly path: string, readonly status: string) {}
}

export interface RecordOutcome {
  /** The request went to the overflow series. */
  readonly overflowed: boolean;
}

export class SenderAggregator {
  private readonly series = new Map<string, SeriesStats>();
  /** Key of the raw request values → their series (never the overflow series). */
  private readonly rawShortcuts = new Map<string, SeriesStats>();
  private readonly maxRawShortcuts: number;
  private overflow: SeriesStats | undefined;
  private entries = 0;
  /** Time of the first request of the window; -1 when the window has none yet. */
  private windowStartMs = -1;

  constructor(
    private readonly maxSeries: number,
    private readonly maxEntriesPerMessage: number = DEFAULT_MAX_ENTRIES_PER_MESSAGE,
  ) {
    this.maxRawShortcuts = Math.min(MAX_RAW_SHORTCUTS, Math.max(MIN_RAW_SHORTCUTS, 2 * maxSeries));
  }

  /**
   * Counts one request from its raw values (undefined when the request lacks one): as `record`
   * with `normalizePath(rawPath)` and every value bounded (boundDimensionValue), but values seen
   * before in this window go straight to their series. Returns true when the request went to the
   * overflow series. `now`: the time in ms, or a clock read only by the request that opens a
   * window (the window's start is the only use of the time: a clock read per request costs a
   * host crossing).
   */
  recordRequest(
    host: string, method: string | undefined, rawPath: string | undefined, status: string | undefined,
    latencyBucket: number, now: number | (() => number), normalizePath: (path: string) => string,
  ): boolean {
    if (this.windowStartMs < 0) this.windowStartMs = typeof now === 'number' ? now : now();
    // undefined and '' both become UNKNOWN_VALUE, so they may share a key
    const rawKey = `${host}\u0000${method ?? ''}\u0000${rawPath ?? ''}\u0000${status ?? ''}`;
    const stats = this.rawShortcuts.get(rawKey);
    if (stats === undefined) {
      const path = rawPath === undefined ? undefined : normalizePath(rawPath);
      const overflowed = this.record(
        boundDimensionValue(host), boundDimensionValue(method), boundDimensionValue(path), boundDimensionValue(status),
        latencyBucket, this.windowStartMs,
      );
      if (!overflowed) {
        if (this.rawShortcuts.size >= this.maxRawShortcuts) this.rawShortcuts.clear();
        this.rawShortcuts.set(rawKey, this.lastStats!);
      }
      return overflowed;
    }
    if (stats.count++ === 0) this.entries++;
    if (latencyBucket !== NO_LATENCY) {
      // a bucket in use: counted in place (no call); a new one through add (it keeps the order)
      const latency = stats.latency;
      const slot = latency.slots === undefined ? 0 : latency.slots[latencyBucket] ?? 0;
      if (slot !== 0) latency.counts[slot - 1]!++;
      else if (latency.add(latencyBucket, 1)) this.entries++;
    }
    this.full = this.entries >= this.maxEntriesPerMessage;
    return false;
  }

  /** The series `record` counted last (for recordRequest's shortcut). */
  private lastStats: SeriesStats | undefined;

  /**
   * Counts one request. `latencyBucket` is a bucket index from latency.ts, or -1 when the
   * latency is unknown. Returns true when the request went to the overflow series.
   */
  record(host: string, method: string, path: string, status: string, latencyBucket: number, nowMs: number): boolean {
    if (this.windowStartMs < 0) this.windowStartMs = nowMs;
    const key = `${host}\u0000${method}\u0000${path}\u0000${status}`;
    let stats = this.series.get(key);
    let overflowed = false;
    if (stats === undefined) {
      if (this.series.size >= this.maxSeries) {
        overflowed = true;
        stats = this.overflow ??= new SeriesStats(OVERFLOW_VALUE, OVERFLOW_VALUE, OVERFLOW_VALUE, OVERFLOW_VALUE);
      } else {
        stats = new SeriesStats(host, method, path, status);
        this.series.set(key, stats);
      }
    }
    this.lastStats = stats;
    if (stats.count++ === 0) this.entries++;
    if (latencyBucket !== NO_LATENCY && stats.latency.add(latencyBucket, 1)) this.entries++;
    this.full = this.entries >= this.maxEntriesPerMessage;
    return overflowed;
  }

  /**
   * True when the pending data should be flushed now rather than at the next tick. A field, not a
   * getter: the sender reads it per request (a getter is a call in QuickJS). Only the aggregator
   * sets it.
   */
  full = false;

  /** True when nothing was recorded since the last flush. */
  get empty(): boolean {
    return this.entries === 0;
  }

  /** Distinct series known in this window (the cap applies to this number). */
  get seriesCount(): number {
    return this.series.size;
  }

  /**
   * Takes the pending data as a wire message (or undefined when empty). `endWindow` starts a new
   * window (the tick's flush): series keys are forgotten, so the cap starts over.
   */
  flush(endWindow: boolean): WireMessage | undefined {
    let message: WireMessage | undefined;
    if (this.entries > 0) {
      const rows: WireSeries[] = [];
      const take = (stats: SeriesStats): void => {
        if (stats.count === 0) return;
        rows.push({
          host: cleanDimensionValue(stats.host), method: cleanDimensionValue(stats.method),
          path: cleanDimensionValue(stats.path), status: cleanDimensionValue(stats.status),
          count: stats.count, latency: stats.latency.toFlat(),
        });
        stats.count = 0;
        stats.latency.clear();
      };
      for (const stats of this.series.values()) take(stats);
      if (this.overflow) take(this.overflow);
      message = { windowStartMs: Math.max(0, this.windowStartMs), series: rows };
      this.entries = 0;
      this.full = false;
    }
    if (endWindow) {
      this.series.clear();
      this.rawShortcuts.clear();
      this.lastStats = undefined;
      this.overflow = undefined;
      this.windowStartMs = -1;
    }
    return message;
  }
}
