import { describe, expect, it } from 'vitest';
import { SenderAggregator } from '../../src/metrics/aggregator.js';
import { LatencyHistogram, latencyBucket } from '../../src/metrics/latency.js';
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

describe('sender aggregator: raw-value shortcuts (recordRequest)', () => {
  const strip = (path: string): string => path.split('?')[0]!;

  it('counts raw requests into the normalised, bounded series; undefined and empty values share _unknown', () => {
    const aggregator = new SenderAggregator(100);
    aggregator.recordRequest('a.test', 'GET', '/x?id=1', '200', latencyBucket(5), T0, strip);
    aggregator.recordRequest('a.test', 'GET', '/x?id=2', '200', latencyBucket(5), T0, strip); // another raw key, same series
    aggregator.recordRequest('a.test', 'GET', '/x?id=1', '200', latencyBucket(50), T0, strip); // the shortcut
    aggregator.recordRequest('a.test', undefined, '/x', undefined, -1, T0, strip);
    aggregator.recordRequest('a.test', '', '/x', '', -1, T0, strip);
    const message = aggregator.flush(true)!;
    expect(message.series).toEqual([
      { host: 'a.test', method: 'GET', path: '/x', status: '200', count: 3, latency: [latencyBucket(5), 2, latencyBucket(50), 1] },
      { host: 'a.test', method: '_unknown', path: '/x', status: '_unknown', count: 2, latency: [] },
    ]);
  });

  it('forgets the shortcuts with the window, so the series cap starts over, and never shortcuts the overflow', () => {
    const aggregator = new SenderAggregator(1);
    expect(aggregator.recordRequest('h1', 'GET', '/', '200', 1, T0, strip)).toBe(false);
    expect(aggregator.recordRequest('h2', 'GET', '/', '200', 1, T0, strip)).toBe(true);
    expect(aggregator.recordRequest('h2', 'GET', '/', '200', 1, T0, strip)).toBe(true); // still overflow each time
    aggregator.flush(true);
    expect(aggregator.recordRequest('h2', 'GET', '/', '200', 1, T0, strip)).toBe(false); // a new window: h2 fits
    expect(aggregator.recordRequest('h1', 'GET', '/', '200', 1, T0, strip)).toBe(true); // h1's old shortcut is gone
    expect(aggregator.flush(true)!.series.map((s) => [s.host, s.count])).toEqual([['h2', 1], ['_overflow', 1]]);
  });

  it('keeps counting right past the shortcut bound (a spray of raw values)', () => {
    const aggregator = new SenderAggregator(10);
    for (let i = 0; i < 5000; i++) aggregator.recordRequest('a.test', 'GET', `/x?n=${i}`, '200', -1, T0, strip);
    aggregator.recordRequest('a.test', 'GET', '/x?n=1', '200', -1, T0, strip);
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
