// The sender's per-VM aggregation: requests → series (host, method, path, status) with a count
// and a latency histogram, until the next flush. `recordValues` is the per-request hot path (it
// runs interpreted in QuickJS, where every call, allocation, property access and lexical
// binding check costs): one template-literal key of the raw request values, one Map lookup, the
// latency bucket by an inlined formula and a few increments, with no call but Math.log. Only a
// request whose raw values are new (or whose series is new in the window) pays for the host
// match, path normalisation and bounding. Dimension values are length-bounded for keys and made
// acceptable to CloudWatch (cleanDimensionValue) once per series object.
//
// Bounds: at most `maxSeries` distinct series per flush window (the tick); further new series
// fold into one overflow series whose dimension values are all `_overflow`. A size bound
// (`maxEntriesPerMessage`, series + latency buckets with counts pending) tells the caller to
// flush early so one queue message stays small; an early flush keeps the window's series, so the
// cap still holds until the tick's flush starts a new window.
//
// Series objects outlive windows while they are in use: the tick's flush keeps the series counted
// in the ending window (with their latency buckets and raw-value shortcuts), so steady traffic
// does not rebuild them every tick; a series counts towards the next window's cap again only
// when it is counted in it. Series idle for a whole window are dropped, so at most the series of
// two windows (2 × maxSeries) are held.

import { boundDimensionValue, cleanDimensionValue, OVERFLOW_VALUE } from './dimensions.js';
import { LATENCY_BUCKET_COUNT, LATENCY_LOG_MIN, LATENCY_LOG_RATIO, LATENCY_MIN_MS } from './latency.js';
import type { WireMessage, WireSeries } from './wire.js';

/** ~20,000 entries ≈ 200-400 KB of JSON per queue message. */
export const DEFAULT_MAX_ENTRIES_PER_MESSAGE = 20_000;

const NO_LATENCY = -1;
const LAST_BUCKET = LATENCY_BUCKET_COUNT - 1;
/** Read once: a module constant is cheaper to reach than the global Math's property in QuickJS. */
const log = Math.log;
/** SeriesStats.window of a series dropped from the aggregator (shortcuts to it are stale). */
const DROPPED = -1;

/**
 * Raw-values → series shortcuts: a few per series normally; a spray of distinct raw values
 * (random query strings) empties it when full, so memory stays bounded.
 */
const MIN_RAW_SHORTCUTS = 1024;
const MAX_RAW_SHORTCUTS = 20_000;

/**
 * One series' counts. The latency histogram is flat on the object (no nested object on the hot
 * path): `buckets` lists the buckets this series has used, ascending, `counts` their pending
 * counts (0 after a flush), `slots[bucket]` = 1 + the bucket's position in both (0: never used).
 * Buckets stay listed across flushes, so counting one is an increment, not an insertion.
 */
class SeriesStats {
  count = 0;
  /** The window the series was last counted in, or DROPPED. */
  window: number;
  readonly slots = new Uint8Array(LATENCY_BUCKET_COUNT);
  readonly buckets: number[] = [];
  readonly counts: number[] = [];
  /** Dimension values as published (cleaned once, here). */
  readonly host: string;
  readonly method: string;
  readonly path: string;
  readonly status: string;

  constructor(host: string, method: string, path: string, status: string, window: number) {
    this.host = cleanDimensionValue(host);
    this.method = cleanDimensionValue(method);
    this.path = cleanDimensionValue(path);
    this.status = cleanDimensionValue(status);
    this.window = window;
  }
}

/** Lists a bucket the series never used, with count 1, keeping `buckets` ascending. */
function insertBucket(stats: SeriesStats, bucket: number): void {
  const { buckets, counts, slots } = stats;
  let at = buckets.length;
  while (at > 0 && buckets[at - 1]! > bucket) at--;
  if (at === buckets.length) {
    buckets.push(bucket);
    counts.push(1);
    slots[bucket] = at + 1;
    return;
  }
  buckets.splice(at, 0, bucket);
  counts.splice(at, 0, 1);
  for (let i = at; i < buckets.length; i++) slots[buckets[i]!] = i + 1;
}

/** What the aggregator needs to know about requests beyond their values. */
export interface RequestContext {
  /** True when requests to this authority are recorded. */
  readonly matchHost: (authority: string) => boolean;
  /** The `path` dimension value of a raw `:path`. */
  readonly normalizePath: (path: string) => string;
  /** The time in ms; read only by the request that opens a window (a host crossing each). */
  readonly clockMs: () => number;
}

const RECORD_ALL: RequestContext = { matchHost: () => true, normalizePath: (path) => path, clockMs: () => 0 };

/**
 * The raw values of a finished request, as a header-and-age query returns them: :authority,
 * :method, :path, :status (strings; undefined when absent) and the latency in ns (a number;
 * undefined when unknown).
 */
export type RequestValues = readonly [
  host: string | undefined, method: string | undefined, path: string | undefined, status: string | undefined,
  latencyNs: number | undefined,
];

export class SenderAggregator {
  /** Bounded values key → series, for the series of this window and of the last one. */
  private readonly series = new Map<string, SeriesStats>();
  /** Key of the raw request values → their series (never the overflow series). */
  private readonly rawShortcuts = new Map<string, SeriesStats>();
  private readonly maxRawShortcuts: number;
  private overflow: SeriesStats | undefined;
  /** The window number (SeriesStats.window), and how many series were counted in it. */
  private window = 0;
  private seriesInWindow = 0;
  private entries = 0;
  /** Time of the first request of the window; -1 when the window has none yet. */
  private windowStartMs = -1;
  /** Requests counted in the last flushed message, and how many of them went to the overflow series. */
  flushedRequests = 0;
  flushedOverflow = 0;

  constructor(
    private readonly maxSeries: number,
    private readonly maxEntriesPerMessage: number = DEFAULT_MAX_ENTRIES_PER_MESSAGE,
    private readonly context: RequestContext = RECORD_ALL,
  ) {
    this.maxRawShortcuts = Math.min(MAX_RAW_SHORTCUTS, Math.max(MIN_RAW_SHORTCUTS, 2 * maxSeries));
  }

  /**
   * Counts one finished request from its raw values, when its authority matches: as `record`
   * with the normalised path, every value bounded (boundDimensionValue) and the latency's bucket
   * (latencyBucket of ns / 1e6). Returns true when the pending data should be flushed now (the
   * size bound).
   */
  recordValues(values: RequestValues, rawKey?: string): boolean {
    // `var`, not let/const: QuickJS checks a lexical binding's initialisation at every read
    // (measured: ~0.1 µs per request here)
    // rawKey: a key the caller has for the four raw values (the SDK's capture key): no key to
    // build here. Otherwise one of our own; undefined and '' both become UNKNOWN_VALUE, so they
    // may share a key.
    var stats = this.rawShortcuts.get(rawKey !== undefined ? rawKey : `${values[0] ?? ''}\u0000${values[1] ?? ''}\u0000${values[2] ?? ''}\u0000${values[3] ?? ''}`);
    var full = false;
    if (stats === undefined || stats.count === 0) {
      // new raw values, or the series' first request since a flush (maybe in a new window)
      stats = this.seriesOfValues(values, stats, rawKey);
      if (stats === undefined) return false;
      if (stats.count++ === 0) full = ++this.entries >= this.maxEntriesPerMessage;
    } else {
      stats.count++;
    }
    var latencyNs = values[4];
    if (latencyNs !== undefined) { // cheaper than a typeof test in QuickJS; the query's contract
      // latencyBucket(latencyNs / 1e6), inlined (see latency.ts)
      var ms = latencyNs / 1e6;
      var bucket = 0;
      if (ms >= LATENCY_MIN_MS) {
        var x = (log(ms) - LATENCY_LOG_MIN) / LATENCY_LOG_RATIO;
        bucket = x >= LAST_BUCKET ? LAST_BUCKET : (x | 0) + 1;
      }
      var slot = stats.slots[bucket]!;
      if (slot !== 0) {
        if (stats.counts[slot - 1]!++ === 0) full = ++this.entries >= this.maxEntriesPerMessage;
      } else {
        insertBucket(stats, bucket);
        full = ++this.entries >= this.maxEntriesPerMessage;
      }
    }
    if (full) this.full = true;
    return full;
  }

  /**
   * recordValues' slow path, for raw values whose shortcut is missing or points to a series
   * (`known`) with no count since the last flush: undefined when the host is not recorded, else
   * the series to count (the overflow series once the window's cap is reached).
   */
  private seriesOfValues(values: RequestValues, known: SeriesStats | undefined, rawKey: string | undefined): SeriesStats | undefined {
    if (known !== undefined) {
      if (known.window === this.window) return known; // counted in this window before an early flush
      if (known.window !== DROPPED) {
        // a series of the last window (its host matched): counted again
        if (this.windowStartMs < 0) this.windowStartMs = this.context.clockMs();
        return this.enterWindow(known);
      }
    }
    const host = values[0];
    const method = values[1];
    const path = values[2];
    const status = values[3];
    const authority = typeof host === 'string' ? host : '';
    const context = this.context;
    if (!context.matchHost(authority)) return undefined;
    if (this.windowStartMs < 0) this.windowStartMs = context.clockMs();
    const stats = this.seriesOf(
      boundDimensionValue(authority), boundDimensionValue(typeof method === 'string' ? method : undefined),
      boundDimensionValue(typeof path === 'string' ? context.normalizePath(path) : undefined),
      boundDimensionValue(typeof status === 'string' ? status : undefined),
    );
    if (stats !== this.overflow) {
      if (this.rawShortcuts.size >= this.maxRawShortcuts) this.rawShortcuts.clear();
      this.rawShortcuts.set(rawKey ?? `${host ?? ''}\u0000${method ?? ''}\u0000${path ?? ''}\u0000${status ?? ''}`, stats);
    }
    return stats;
  }

  /** The series of bounded values: a known or new one while under the cap, else the overflow series. */
  private seriesOf(host: string, method: string, path: string, status: string): SeriesStats {
    const key = `${host}\u0000${method}\u0000${path}\u0000${status}`;
    const stats = this.series.get(key);
    if (stats !== undefined) return stats.window === this.window ? stats : this.enterWindow(stats);
    if (this.seriesInWindow >= this.maxSeries) return this.overflowSeries();
    const created = new SeriesStats(host, method, path, status, this.window);
    this.series.set(key, created);
    this.seriesInWindow++;
    return created;
  }

  /** A series of the last window, counted in this one: under the cap it is, else the overflow. */
  private enterWindow(stats: SeriesStats): SeriesStats {
    if (this.seriesInWindow >= this.maxSeries) return this.overflowSeries();
    stats.window = this.window;
    this.seriesInWindow++;
    return stats;
  }

  private overflowSeries(): SeriesStats {
    return this.overflow ??= new SeriesStats(OVERFLOW_VALUE, OVERFLOW_VALUE, OVERFLOW_VALUE, OVERFLOW_VALUE, this.window);
  }

  /**
   * Counts one request. `latencyBucket` is a bucket index from latency.ts, or -1 when the
   * latency is unknown. Returns true when the request went to the overflow series.
   */
  record(host: string, method: string, path: string, status: string, latencyBucket: number, nowMs: number): boolean {
    if (this.windowStartMs < 0) this.windowStartMs = nowMs;
    const stats = this.seriesOf(host, method, path, status);
    if (stats.count++ === 0) this.entries++;
    if (latencyBucket !== NO_LATENCY) {
      const slot = stats.slots[latencyBucket];
      if (slot === undefined) throw new RangeError(`latency bucket ${latencyBucket} is outside 0..${LAST_BUCKET}`);
      if (slot === 0) {
        insertBucket(stats, latencyBucket);
        this.entries++;
      } else if (stats.counts[slot - 1]!++ === 0) {
        this.entries++;
      }
    }
    this.full = this.entries >= this.maxEntriesPerMessage;
    return stats === this.overflow;
  }

  /**
   * True when the pending data should be flushed now rather than at the next tick. A field, not a
   * getter: a getter is a call in QuickJS. Only the aggregator sets it.
   */
  full = false;

  /** True when nothing was recorded since the last flush. */
  get empty(): boolean {
    return this.entries === 0;
  }

  /** Distinct series counted in this window (the cap applies to this number). */
  get seriesCount(): number {
    return this.seriesInWindow;
  }

  /**
   * Takes the pending data as a wire message (or undefined when empty). `endWindow` starts a new
   * window (the tick's flush): the cap starts over, and series not counted in the ending window
   * are dropped.
   */
  flush(endWindow: boolean): WireMessage | undefined {
    let message: WireMessage | undefined;
    let requests = 0;
    let overflowed = 0;
    const rows: WireSeries[] = [];
    let dropped = false;
    for (const [key, stats] of this.series) {
      if (stats.count !== 0) requests += takeSeries(stats, rows);
      else if (endWindow && stats.window !== this.window) {
        stats.window = DROPPED;
        this.series.delete(key);
        dropped = true;
      }
    }
    if (this.overflow !== undefined && this.overflow.count !== 0) overflowed = takeSeries(this.overflow, rows);
    this.flushedRequests = requests + overflowed;
    this.flushedOverflow = overflowed;
    if (this.entries > 0) {
      message = { windowStartMs: Math.max(0, this.windowStartMs), series: rows };
      this.entries = 0;
      this.full = false;
    }
    if (endWindow) {
      // shortcuts to dropped series would keep them alive: start the shortcuts over
      if (dropped) this.rawShortcuts.clear();
      this.window++;
      this.seriesInWindow = 0;
      this.overflow = undefined;
      this.windowStartMs = -1;
    }
    return message;
  }
}

/** Appends a series' row and zeroes its counts; returns its request count. */
function takeSeries(stats: SeriesStats, rows: WireSeries[]): number {
  const count = stats.count;
  const { buckets, counts } = stats;
  const latency: number[] = [];
  let j = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = counts[i]!;
    if (n !== 0) {
      latency[j++] = buckets[i]!;
      latency[j++] = n;
      counts[i] = 0;
    }
  }
  rows.push({ host: stats.host, method: stats.method, path: stats.path, status: stats.status, count, latency });
  stats.count = 0;
  return count;
}
