import { describe, expect, it } from 'vitest';
import { SenderAggregator } from '../../src/metrics/aggregator.js';
import { LATENCY_BUCKET_COUNT, LatencyHistogram, latencyBucket } from '../../src/metrics/latency.js';
import { Merger } from '../../src/metrics/merger.js';
import { decodeMessage, encodeMessage, type WireMessage } from '../../src/metrics/wire.js';

const T0 = 1_700_000_000_000;

describe('sender aggregator', () => {
  it('counts requests per host/method/path/status with a latency histogram', () => {
    const aggregator = new SenderAggregator(100);
    aggregator.record('a.test', 'GET', '/x', '200', latencyBucket(5), T0);
    aggregator.record('a.test', 'GET', '/x', '200', latencyBucket(5), T0 + 10);
    aggregator.record('a.test', 'GET', '/x', '200', latencyBucket(50), T0 + 20);
    aggregator.record('a.test', 'POST', '/x', '201', -1, T0 + 30);
    const message = aggregator.flush(true)!;
    expect(message.windowStartMs).toBe(T0);
    expect(message.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/x', status: '200', count: 3, latency: [latencyBucket(5), 2, latencyBucket(50), 1] },
      { host: 'a.test', method: 'POST', path: '/x', status: '201', count: 1, latency: [] },
    ]);
    expect(aggregator.empty).toBe(true);
    expect(aggregator.flush(true)).toBeUndefined();
  });

  it('folds series beyond max_series into one _overflow series and reports it', () => {
    const aggregator = new SenderAggregator(2);
    expect(aggregator.record('h1', 'GET', '/', '200', 1, T0)).toBe(false);
    expect(aggregator.record('h2', 'GET', '/', '200', 1, T0)).toBe(false);
    expect(aggregator.record('h3', 'GET', '/', '200', 1, T0)).toBe(true);
    expect(aggregator.record('h4', 'GET', '/', '404', 2, T0)).toBe(true);
    expect(aggregator.record('h1', 'GET', '/', '200', 1, T0)).toBe(false); // known series still counted
    const series = aggregator.flush(true)!.series;
    expect(series).toHaveLength(3);
    expect(series[0]!.count).toBe(2);
    expect(series[2]).toEqual({ host: '_overflow', method: '_overflow', path: '_overflow', status: '_overflow', count: 2, latency: [1, 1, 2, 1] });
  });

  it('keeps memory bounded under a spray of distinct hosts', () => {
    const aggregator = new SenderAggregator(1000);
    let overflowed = 0;
    for (let i = 0; i < 50_000; i++) if (aggregator.record(`h${i}.spray.test`, 'GET', '/', '200', 3, T0)) overflowed++;
    expect(aggregator.seriesCount).toBe(1000);
    expect(overflowed).toBe(49_000);
    const message = aggregator.flush(true)!;
    expect(message.series).toHaveLength(1001);
    expect(message.series.reduce((sum, s) => sum + s.count, 0)).toBe(50_000);
  });

  it('says when it is full, and an early flush keeps the window cap', () => {
    const aggregator = new SenderAggregator(3, 4); // 4 entries = series + latency buckets
    aggregator.record('h1', 'GET', '/', '200', 1, T0);
    expect(aggregator.full).toBe(false);
    aggregator.record('h2', 'GET', '/', '200', 1, T0);
    expect(aggregator.full).toBe(true);
    const early = aggregator.flush(false)!;
    expect(early.series.map((s) => s.host)).toEqual(['h1', 'h2']);
    expect(aggregator.full).toBe(false);
    aggregator.record('h3', 'GET', '/', '200', 1, T0 + 1);
    expect(aggregator.record('h4', 'GET', '/', '200', 1, T0 + 2)).toBe(true); // cap of 3 still counts h1, h2
    const rest = aggregator.flush(true)!;
    expect(rest.windowStartMs).toBe(T0);
    expect(rest.series.map((s) => s.host)).toEqual(['h3', '_overflow']);
    // A new window starts over.
    expect(aggregator.record('h4', 'GET', '/', '200', 1, T0 + 1000)).toBe(false);
    expect(aggregator.flush(true)!.windowStartMs).toBe(T0 + 1000);
  });
});

describe('sender aggregator: raw request values (recordValues)', () => {
  const strip = (path: string): string => path.split('?')[0]!;
  /** An aggregator recording hosts ending in ".test", counting its clock reads. */
  function aggregatorFor(maxSeries: number, maxEntries?: number) {
    const clock = { reads: 0 };
    const aggregator = new SenderAggregator(maxSeries, maxEntries, {
      matchHost: (authority) => authority.endsWith('.test'),
      normalizePath: strip,
      clockMs: () => { clock.reads++; return T0 + clock.reads; },
    });
    return { aggregator, clock };
  }
  const ns = (ms: number): number => ms * 1e6;

  it('counts raw requests into the normalised, bounded series; undefined and empty values share _unknown', () => {
    const { aggregator } = aggregatorFor(100);
    aggregator.recordValues(['a.test', 'GET', '/x?id=1', '200', ns(5)]);
    aggregator.recordValues(['a.test', 'GET', '/x?id=2', '200', ns(5)]); // another raw key, same series
    aggregator.recordValues(['a.test', 'GET', '/x?id=1', '200', ns(50)]); // the shortcut
    aggregator.recordValues(['a.test', undefined, '/x', undefined, undefined]);
    aggregator.recordValues(['a.test', '', '/x', '', undefined]);
    aggregator.recordValues(['a.test', 'GET', '/x?id=1', '200', ns(0.01)]); // below 0.1 ms: bucket 0
    const message = aggregator.flush(true)!;
    expect(message.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/x', status: '200', count: 4, latency: [0, 1, latencyBucket(5), 2, latencyBucket(50), 1] },
      { host: 'a.test', method: '_unknown', path: '/x', status: '_unknown', count: 2, latency: [] },
    ]);
    expect(aggregator.flushedRequests).toBe(6);
    expect(aggregator.flushedOverflow).toBe(0);
  });

  it('skips hosts that do not match, and reads the clock once per window, for its first recorded request', () => {
    const { aggregator, clock } = aggregatorFor(100);
    expect(aggregator.recordValues(['example.com', 'GET', '/', '200', ns(1)])).toBe(false);
    expect(aggregator.recordValues([undefined, 'GET', '/', '200', ns(1)])).toBe(false);
    expect(aggregator.empty).toBe(true);
    expect(clock.reads).toBe(0);
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(1)]);
    aggregator.recordValues(['b.test', 'GET', '/', '200', ns(1)]);
    expect(clock.reads).toBe(1);
    expect(aggregator.flush(true)!.windowStartMs).toBe(T0 + 1);
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(1)]);
    expect(aggregator.flush(true)!.windowStartMs).toBe(T0 + 2);
  });

  it('buckets every latency as latencyBucket does, and reports buckets ascending', () => {
    const { aggregator } = aggregatorFor(100);
    const expected = new Map<number, number>();
    // descending, so buckets arrive in the reverse of their reporting order
    for (let ms = 400_000; ms > 0.001; ms /= 1.0071) {
      aggregator.recordValues(['a.test', 'GET', '/', '200', ns(ms)]);
      const bucket = latencyBucket(ns(ms) / 1e6);
      expected.set(bucket, (expected.get(bucket) ?? 0) + 1);
    }
    const flat = aggregator.flush(true)!.series[0]!.latency;
    expect(flat).toEqual([...expected.entries()].sort((a, b) => a[0] - b[0]).flat());
    expect(flat.length).toBe(2 * LATENCY_BUCKET_COUNT);
  });

  it('forgets the shortcuts with the window, so the series cap starts over, and never shortcuts the overflow', () => {
    const { aggregator } = aggregatorFor(1);
    aggregator.recordValues(['h1.test', 'GET', '/', '200', ns(1)]);
    aggregator.recordValues(['h2.test', 'GET', '/', '200', ns(1)]);
    aggregator.recordValues(['h2.test', 'GET', '/', '200', ns(1)]); // still overflow each time
    expect(aggregator.flush(true)!.series.map((s) => [s.host, s.count])).toEqual([['h1.test', 1], ['_overflow', 2]]);
    expect(aggregator.flushedOverflow).toBe(2);
    aggregator.recordValues(['h2.test', 'GET', '/', '200', ns(1)]); // a new window: h2 fits
    aggregator.recordValues(['h1.test', 'GET', '/', '200', ns(1)]); // h1 is known, but the cap is taken
    expect(aggregator.flush(true)!.series.map((s) => [s.host, s.count])).toEqual([['h2.test', 1], ['_overflow', 1]]);
    expect(aggregator.flushedRequests).toBe(2);
    expect(aggregator.flushedOverflow).toBe(1);
  });

  it('keeps series across windows without carrying their counts, buckets or cap share over', () => {
    const { aggregator } = aggregatorFor(2);
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(5)]);
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(5)]);
    aggregator.recordValues(['b.test', 'GET', '/', '200', ns(5)]);
    aggregator.flush(true);
    expect(aggregator.seriesCount).toBe(0);
    // a and b are still known but not counted in this window: c and d fit under the cap of 2
    aggregator.recordValues(['c.test', 'GET', '/', '200', ns(5)]);
    aggregator.recordValues(['d.test', 'GET', '/', '200', ns(5)]);
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(70)]); // now over the cap
    expect(aggregator.seriesCount).toBe(2);
    expect(aggregator.flush(true)!.series).toEqual([
      { host: 'c.test', method: 'GET', path: '/', status: '200', count: 1, latency: [latencyBucket(5), 1] },
      { host: 'd.test', method: 'GET', path: '/', status: '200', count: 1, latency: [latencyBucket(5), 1] },
      { host: '_overflow', method: '_overflow', path: '_overflow', status: '_overflow', count: 1, latency: [latencyBucket(70), 1] },
    ]);
    // a: known from two windows ago, its old bucket not reported; an early flush reports only what is new
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(70)]);
    expect(aggregator.flush(false)!.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/', status: '200', count: 1, latency: [latencyBucket(70), 1] },
    ]);
    aggregator.recordValues(['a.test', 'GET', '/', '200', ns(5)]);
    expect(aggregator.flush(true)!.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/', status: '200', count: 1, latency: [latencyBucket(5), 1] },
    ]);
    expect(aggregator.flush(true)).toBeUndefined();
  });

  it('says when the size bound is reached (series + latency buckets)', () => {
    const { aggregator } = aggregatorFor(10, 3);
    expect(aggregator.recordValues(['a.test', 'GET', '/', '200', ns(1)])).toBe(false); // 2 entries
    expect(aggregator.recordValues(['a.test', 'GET', '/', '200', ns(1)])).toBe(false); // still 2
    expect(aggregator.recordValues(['a.test', 'GET', '/', '200', ns(9)])).toBe(true); // a new bucket: 3
    expect(aggregator.full).toBe(true);
    aggregator.flush(false);
    expect(aggregator.full).toBe(false);
    expect(aggregator.recordValues(['a.test', 'GET', '/', '200', ns(9)])).toBe(false); // the series again: 2
  });

  it('keeps counting right past the shortcut bound (a spray of raw values)', () => {
    const { aggregator } = aggregatorFor(10);
    for (let i = 0; i < 5000; i++) aggregator.recordValues(['a.test', 'GET', `/x?n=${i}`, '200', undefined]);
    aggregator.recordValues(['a.test', 'GET', '/x?n=1', '200', undefined]);
    expect(aggregator.flush(true)!.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/x', status: '200', count: 5001, latency: [] },
    ]);
  });
});

describe('latency histogram', () => {
  it('keeps buckets ascending, reports new ones, and starts clean after clear', () => {
    const h = new LatencyHistogram();
    expect(h.add(40, 1)).toBe(true);
    expect(h.add(3, 2)).toBe(true);
    expect(h.add(40, 1)).toBe(false);
    expect(h.add(17, 1)).toBe(true);
    expect(h.add(3, 1)).toBe(false);
    expect(h.toFlat()).toEqual([3, 3, 17, 1, 40, 2]);
    h.clear();
    expect(h.size).toBe(0);
    expect(h.add(17, 5)).toBe(true); // not a leftover of the last window
    expect(h.add(148, 1)).toBe(true);
    expect(h.toFlat()).toEqual([17, 5, 148, 1]);
    expect(() => h.add(149, 1)).toThrow(RangeError);
  });
});

describe('queue wire format', () => {
  const message: WireMessage = {
    windowStartMs: T0,
    series: [
      { host: 'a.test', method: 'GET', path: '/x', status: '200', count: 3, latency: [10, 2, 40, 1] },
      { host: 'b.test', method: 'PUT', path: '/y', status: '500', count: 1, latency: [] },
    ],
  };

  it('round-trips through compact versioned JSON', () => {
    const text = encodeMessage(message);
    expect(JSON.parse(text)).toEqual({ v: 1, t: T0, s: [['a.test', 'GET', '/x', '200', 3, [10, 2, 40, 1]], ['b.test', 'PUT', '/y', '500', 1, []]] });
    expect(decodeMessage(text)).toEqual({ ok: true, message });
  });

  const reasonFor = (value: unknown): string => {
    const result = decodeMessage(typeof value === 'string' ? value : JSON.stringify(value));
    if (result.ok) throw new Error('expected a rejection');
    return result.reason;
  };
  const row = ['a.test', 'GET', '/x', '200', 3, [10, 2, 40, 1]];

  it('rejects malformed messages with a reason', () => {
    expect(reasonFor('{"v":1,')).toBe('not valid JSON');
    expect(reasonFor([1])).toBe('not a JSON object');
    expect(reasonFor({ v: 2, t: T0, s: [] })).toBe('unsupported version 2 (expected 1)');
    expect(reasonFor({ t: T0, s: [] })).toBe('unsupported version null (expected 1)');
    expect(reasonFor({ v: 1, t: -1, s: [] })).toContain('window start "t"');
    expect(reasonFor({ v: 1, t: T0, s: {} })).toBe('series list "s" must be an array');
    expect(reasonFor({ v: 1, t: T0, s: [row, ['a', 'GET', '/', '200', 1]] })).toBe('series 1 must be an array of 6 items');
    expect(reasonFor({ v: 1, t: T0, s: [['', 'GET', '/', '200', 1, []]] })).toContain('series 0: host must be a string');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/caf\u00e9', '200', 1, []]] })).toContain('series 0: path must be a string of 1-1024 printable ASCII');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', 200, 1, []]] })).toContain('series 0: status must be');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', '200', 0, []]] })).toBe('series 0: count must be a positive integer');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', '200', 2.5, []]] })).toBe('series 0: count must be a positive integer');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', '200', 2, [1]]] })).toContain('flat array of [bucket, count] pairs');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', '200', 2, [149, 1]]] })).toContain('latency bucket must be an integer in 0..148');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', '200', 2, [3, -1]]] })).toContain('latency bucket count must be a positive integer');
    expect(reasonFor({ v: 1, t: T0, s: [['a', 'GET', '/', '200', 2, [3, 2, 4, 1]]] })).toBe('series 0: latency counts (3) exceed the request count (2)');
  });
});

describe('receiver merger', () => {
  const all = ['host', 'method', 'path', 'status'] as const;
  const msg = (t: number, ...series: [string, string, string, string, number, number[]][]): WireMessage => ({
    windowStartMs: t,
    series: series.map(([host, method, path, status, count, latency]) => ({ host, method, path, status, count, latency })),
  });

  it('merges messages of several senders into one series per dimension set and window', () => {
    const merger = new Merger(60_000, all, 100);
    merger.add(msg(T0 + 1000, ['a', 'GET', '/', '200', 2, [5, 2]]));
    merger.add(msg(T0 + 2000, ['a', 'GET', '/', '200', 3, [5, 1, 9, 2]], ['a', 'GET', '/', '500', 1, []]));
    expect(merger.seriesCount).toBe(2);
    expect(merger.datumCount).toBe(3); // two count datums + one latency datum
    const [window] = merger.drain();
    expect(window!.windowStartMs).toBe(Math.floor((T0 + 1000) / 60_000) * 60_000);
    const ok = window!.series[0]!;
    expect(ok.dimensionValues).toEqual(['a', 'GET', '/', '200']);
    expect(ok.count).toBe(5);
    expect(ok.latency.toFlat()).toEqual([5, 3, 9, 2]);
    expect(window!.series[1]!.latency.size).toBe(0);
    expect(merger.seriesCount).toBe(0);
    expect(merger.datumCount).toBe(0);
  });

  it('projects onto the configured dimensions', () => {
    const merger = new Merger(60_000, ['status'], 100);
    merger.add(msg(T0, ['a', 'GET', '/x', '200', 2, []], ['b', 'POST', '/y', '200', 3, []], ['b', 'POST', '/y', '404', 1, []]));
    const [window] = merger.drain();
    expect(window!.series.map((s) => [s.dimensionValues, s.count])).toEqual([[['200'], 5], [['404'], 1]]);
  });

  it('keeps windows apart, aligned to the interval, oldest first', () => {
    const merger = new Merger(10_000, all, 100);
    const w0 = Math.floor(T0 / 10_000) * 10_000;
    merger.add(msg(w0 + 15_000, ['a', 'GET', '/', '200', 1, []]));
    merger.add(msg(w0 + 3_000, ['a', 'GET', '/', '200', 1, []])); // a late message for an older window
    expect(merger.drain().map((w) => w.windowStartMs)).toEqual([w0, w0 + 10_000]);
  });

  it('caps series in total and folds the rest into the _overflow series', () => {
    const merger = new Merger(60_000, all, 2);
    const outcome = merger.add(msg(T0, ['a', 'GET', '/', '200', 1, []], ['b', 'GET', '/', '200', 1, []], ['c', 'GET', '/', '200', 4, [1, 4]], ['d', 'GET', '/', '200', 1, []]));
    expect(outcome.overflowedSeries).toBe(2);
    const [window] = merger.drain();
    expect(window!.series.map((s) => [s.dimensionValues.join('|'), s.count])).toEqual([
      ['a|GET|/|200', 1], ['b|GET|/|200', 1], ['_overflow|_overflow|_overflow|_overflow', 5],
    ]);
    // The senders' own overflow series lands in the same overflow series, never counted against the cap.
    const again = new Merger(60_000, all, 1);
    again.add(msg(T0, ['a', 'GET', '/', '200', 1, []], ['_overflow', '_overflow', '_overflow', '_overflow', 7, []], ['z', 'GET', '/', '200', 2, []]));
    expect(again.drain()[0]!.series.map((s) => s.count)).toEqual([1, 9]);
  });

  it('drops the oldest series first and reports how many datums went', () => {
    const merger = new Merger(10_000, all, 100);
    const w0 = Math.floor(T0 / 10_000) * 10_000;
    merger.add(msg(w0 + 10_000, ['new', 'GET', '/', '200', 1, [3, 1]]));
    merger.add(msg(w0, ['old1', 'GET', '/', '200', 1, [3, 1]], ['old2', 'GET', '/', '200', 1, []]));
    expect(merger.datumCount).toBe(5);
    expect(merger.dropOldest(2)).toBe(2);
    expect(merger.datumCount).toBe(3);
    expect(merger.drain().flatMap((w) => w.series.map((s) => s.dimensionValues[0]))).toEqual(['old2', 'new']);
  });
});
