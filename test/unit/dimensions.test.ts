// Dimension options: static dimensions, status_class and rollups — configuration checks with
// CloudWatch's limits, the re-aggregation, the datums they produce, and the cost model.

import { describe, expect, it } from 'vitest';
import { buildDatums } from '../../src/cloudwatch/datums.js';
import { estimateCost } from '../../src/cloudwatch/cost.js';
import { planPublish } from '../../src/cloudwatch/publish.js';
import type { ConfigResult } from '../../src/config/fields.js';
import { parseReceiverConfig, type ReceiverConfig } from '../../src/config/receiver.js';
import { latencyBucket } from '../../src/metrics/latency.js';
import { Merger } from '../../src/metrics/merger.js';
import { rollUp, statusClass } from '../../src/metrics/rollups.js';
import type { DimensionName } from '../../src/config/dimensions.js';

const MINIMAL = {
  cloud_watch_region: 'us-east-1', cloud_watch_cluster_name: 'cloudwatch_api',
  aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'SECRET-wJalrXUtnFEMI',
};
const parse = (extra: Record<string, unknown>): ConfigResult<ReceiverConfig> => parseReceiverConfig(JSON.stringify({ ...MINIMAL, ...extra }), () => undefined);
const ok = (extra: Record<string, unknown>): ReceiverConfig => {
  const r = parse(extra);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.config;
};
const errorsOf = (extra: Record<string, unknown>): readonly string[] => {
  const r = parse(extra);
  if (r.ok) throw new Error('expected errors');
  return r.errors;
};

describe('dimension configuration', () => {
  it('defaults: no static dimensions, no rollups, compression on from 10,240 bytes', () => {
    const config = ok({});
    expect(config.staticDimensions).toEqual([]);
    expect(config.rollups).toEqual([]);
    expect(config.requestCompression).toEqual({ enabled: true, minBytes: 10_240 });
    expect(ok({ disable_request_compression: true, request_min_compression_size_bytes: 0 }).requestCompression).toEqual({ enabled: false, minBytes: 0 });
    expect(errorsOf({ request_min_compression_size_bytes: -1 })[0]).toBe('configuration key "request_min_compression_size_bytes" must be at least 0 (got -1)');
    expect(errorsOf({ request_min_compression_size_bytes: 10_485_761 })[0]).toMatch(/must be at most 10485760/);
    expect(errorsOf({ disable_request_compression: 'yes' })[0]).toBe('configuration key "disable_request_compression" must be a boolean (true or false), got a string');
  });

  it('accepts static dimensions, status_class and rollups over the configured dimensions', () => {
    const config = ok({
      dimensions: ['host', 'method', 'status_class'],
      static_dimensions: { cluster: 'prod', service: 'checkout' },
      rollups: [['host'], ['status_class', 'method'], []],
    });
    expect(config.dimensions).toEqual(['host', 'method', 'status_class']);
    expect(config.staticDimensions).toEqual([{ name: 'cluster', value: 'prod' }, { name: 'service', value: 'checkout' }]);
    expect(config.rollups).toEqual([['host'], ['status_class', 'method'], []]);
  });

  it('rejects static dimensions that are empty, too long, not ASCII, not a string or named like a built-in', () => {
    const key = 'configuration key "static_dimensions"';
    expect(errorsOf({ static_dimensions: { '': 'x' } })).toEqual([`${key} entry "": its name must not be empty`]);
    expect(errorsOf({ static_dimensions: { cluster: '' } })).toEqual([`${key} entry "cluster": its value must not be empty`]);
    expect(errorsOf({ static_dimensions: { cluster: '   ' } })).toEqual([`${key} entry "cluster": its value must not be only spaces`]);
    expect(errorsOf({ static_dimensions: { ['n'.repeat(256)]: 'x' } })[0]).toMatch(/its name must be at most 255 characters \(got 256\)/);
    expect(errorsOf({ static_dimensions: { zone: 'v'.repeat(1025) } })).toEqual([`${key} entry "zone": its value must be at most 1024 characters (got 1025)`]);
    expect(ok({ static_dimensions: { ['n'.repeat(255)]: 'v'.repeat(1024) } }).staticDimensions).toHaveLength(1);
    expect(errorsOf({ static_dimensions: { zone: 'é' } })).toEqual([`${key} entry "zone": its value must be printable ASCII`]);
    expect(errorsOf({ static_dimensions: { zone: 3 } })).toEqual([`${key} entry "zone": its value must be a string, got a number`]);
    expect(errorsOf({ static_dimensions: { ':zone': 'a' } })[0]).toMatch(/must not start with ":"/);
    expect(errorsOf({ static_dimensions: { host: 'a' } })).toEqual([`${key} entry "host": collides with the built-in dimension "host" (choose another name)`]);
    expect(errorsOf({ static_dimensions: { Status_Class: 'a' } })[0]).toMatch(/collides with the built-in dimension "status_class"/);
    expect(errorsOf({ static_dimensions: ['cluster', 'prod'] })).toEqual([`${key} must be an object of dimension name to value, got an array`]);
  });

  it('keeps every metric within 30 dimensions', () => {
    const many = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, 'v']));
    expect(ok({ static_dimensions: many(26) }).staticDimensions).toHaveLength(26); // 26 + 4 = 30
    expect(errorsOf({ static_dimensions: many(27) })).toEqual([
      'configuration key "static_dimensions" has 27 dimension(s); with the 4 of "dimensions" that is 31, over CloudWatch\'s 30 per metric',
    ]);
    expect(ok({ dimensions: ['host'], static_dimensions: many(29) }).staticDimensions).toHaveLength(29);
  });

  it('rejects rollups that are not subsets of dimensions, repeat a name, repeat a set or are too many', () => {
    const key = 'configuration key "rollups"';
    expect(errorsOf({ dimensions: ['host', 'status'], rollups: [['path']] })).toEqual([
      `${key} item 0 lists "path", which is not in "dimensions" (["host", "status"]): a rollup publishes a subset of them`,
    ]);
    expect(errorsOf({ rollups: [['host', 'host']] })).toEqual([`${key} item 0 lists "host" twice`]);
    expect(errorsOf({ rollups: [['status', 'path', 'method', 'host']] })).toEqual([`${key} item 0 is the same set as "dimensions" (already published)`]);
    expect(errorsOf({ rollups: [['host', 'method'], ['method', 'host']] })).toEqual([`${key} item 1 is the same set as item 0`]);
    expect(errorsOf({ rollups: ['host'] })).toEqual([`${key} item 0 must be an array of dimension names, got a string`]);
    expect(errorsOf({ rollups: { host: true } })[0]).toMatch(/must be an array of dimension-name arrays/);
    expect(errorsOf({ rollups: Array.from({ length: 11 }, () => ['host']) })).toEqual([`${key} must have at most 10 items (got 11)`]);
    expect(errorsOf({ dimensions: ['status_code'] })[0]).toBe(
      'configuration key "dimensions" item 0 must be one of "host", "method", "path", "status", "status_class" (got "status_code")');
  });
});

const WINDOW = 1_700_000_040_000;
const DIMS: DimensionName[] = ['host', 'method', 'status_class'];

function merged(rows: [string, string, string, number, number[]][], dimensions: readonly DimensionName[] = DIMS) {
  const merger = new Merger(60_000, dimensions, 10_000);
  merger.add({ windowStartMs: WINDOW, series: rows.map(([host, method, status, count, latency]) => ({ host, method, path: '/', status, count, latency })) });
  return merger.drain()[0]!;
}

describe('status_class and rollups', () => {
  it('status_class is the status code class; placeholders stay', () => {
    expect(['200', '204', '301', '404', '503', '_unknown', '_overflow', '0', '42'].map(statusClass))
      .toEqual(['2xx', '2xx', '3xx', '4xx', '5xx', '_unknown', '_overflow', '0', '42']);
    const window = merged([['a', 'GET', '200', 3, []], ['a', 'GET', '204', 2, []], ['a', 'GET', '503', 1, []]]);
    expect(window.series.map((s) => [s.dimensionValues, s.count])).toEqual([[['a', 'GET', '2xx'], 5], [['a', 'GET', '5xx'], 1]]);
  });

  it('a rollup adds counts and merges latency histograms bucket by bucket', () => {
    const b2 = latencyBucket(2);
    const b80 = latencyBucket(80);
    const window = merged([
      ['a', 'GET', '200', 3, [b2, 3]], ['a', 'POST', '500', 2, [b80, 2]], ['b', 'GET', '200', 4, [b2, 1, b80, 3]],
    ]);
    const byHost = rollUp(window, DIMS, ['host']);
    expect(byHost.windowStartMs).toBe(WINDOW);
    expect(byHost.series.map((s) => [s.dimensionValues, s.count, s.latency.toFlat()])).toEqual([
      [['a'], 5, [b2, 3, b80, 2]], [['b'], 4, [b2, 1, b80, 3]],
    ]);
    const total = rollUp(window, DIMS, []);
    expect(total.series.map((s) => [s.dimensionValues, s.count, s.latency.toFlat()])).toEqual([[[], 9, [b2, 4, b80, 5]]]);
    expect(() => rollUp(window, DIMS, ['path'])).toThrow(/not one of/);
  });

  it('publishes the full set, then each rollup, every datum with the static dimensions', () => {
    const window = merged([['a', 'GET', '200', 3, [latencyBucket(2), 3]], ['b', 'GET', '404', 1, []]]);
    const settings = {
      namespace: 'N', metricName: 'RequestCount', latencyMetricName: 'RequestLatency', dimensions: DIMS, storageResolution: 60 as const,
      staticDimensions: [{ name: 'cluster', value: 'prod' }, { name: 'service', value: 'checkout' }],
      rollups: [['host'], []] as DimensionName[][],
    };
    const plan = planPublish([window], settings);
    const body = JSON.parse(plan.batches[0]!.body) as { MetricData: { MetricName: string; Dimensions: { Name: string; Value: string }[]; StatisticValues?: { Sum: number } }[] };
    const counts = body.MetricData.filter((d) => d.MetricName === 'RequestCount').map((d) => [d.Dimensions.map((x) => `${x.Name}=${x.Value}`).join(','), d.StatisticValues!.Sum]);
    expect(counts).toEqual([
      ['host=a,method=GET,status_class=2xx,cluster=prod,service=checkout', 3],
      ['host=b,method=GET,status_class=4xx,cluster=prod,service=checkout', 1],
      ['host=a,cluster=prod,service=checkout', 3],
      ['host=b,cluster=prod,service=checkout', 1],
      ['cluster=prod,service=checkout', 4],
    ]);
    // 5 count datums + 3 latency datums (series with latency values: a, a, total)
    expect(plan.datums).toBe(8);
    const bare = JSON.parse(buildDatums(rollUp(window, DIMS, []), { ...settings, staticDimensions: [], dimensions: [] })[0]!) as { Dimensions: unknown[] };
    expect(bare.Dimensions).toEqual([]);
  });
});

describe('cost model with rollups', () => {
  it('adds the rollup series to datums (calls) and metrics', () => {
    const base = { seriesPerEnvoy: 400, seriesTotal: 400, envoys: 10, publishIntervalMs: 60_000 };
    const plain = estimateCost(base);
    const rolled = estimateCost({ ...base, rollupSeriesPerEnvoy: 120, rollupSeriesTotal: 120 });
    expect(plain.callsPerPublishPerEnvoy).toBe(1); // 800 datums
    expect(rolled.callsPerPublishPerEnvoy).toBe(2); // 1,040 datums
    expect(rolled.metrics).toBe(2 * 520);
    expect(rolled.metricCostPerMonth).toBeCloseTo(1040 * 0.3);
  });
});
