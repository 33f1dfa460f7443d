// Issue 11 part 4 in real Envoy: static dimensions from the configuration on every datum, the
// status as a class (status_class), and rollups (per host only, and fleet-wide totals) published
// from the same aggregate, read back from moto with boto3: exact sums on every dimension set.
// Every body is gzip-compressed here (request_min_compression_size_bytes 0), so the threshold
// setting is exercised in real Envoy too. Bad input: a static dimension that collides with a
// built-in name stops the receiver at start with an error naming the key.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devOverlay, loadEnvoyYaml, startEnvoy, type RunningEnvoy } from '../../scripts/lib/envoy.js';
import { publishedSeries, type PublishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, receiverConfig, sendToFrontEnd, TEST_CREDENTIALS } from '../support/e2e.js';
import { startMoto, type MotoServer } from '../support/moto.js';

const NAMESPACE = 'AWSCloudWatchProxyWasm-e2e-dimensions';
const ENV = { ACPW_AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, ACPW_AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey };
const ROUTES = [{ path: '/missing', status: 404 }, { prefix: '/fail', status: 503 }, { prefix: '/', status: 200 }];
const TRAFFIC = [
  { host: 'example.com', method: 'GET', path: '/a', times: 3 },
  { host: 'example.com', method: 'GET', path: '/missing', times: 2 },
  { host: 'api.example.com', method: 'POST', path: '/fail/x', times: 4 },
  { host: 'api.example.com', method: 'GET', path: '/b', times: 1 },
] as const;
const STATIC = 'cluster=prod,service=checkout';
/** Dimension set (sorted name=value, static ones included) → RequestCount Sum. */
const EXPECTED: Record<string, number> = {
  // the configured set: host, method, status_class (+ static)
  [`${STATIC},host=example.com,method=GET,status_class=2xx`]: 3,
  [`${STATIC},host=example.com,method=GET,status_class=4xx`]: 2,
  [`${STATIC},host=api.example.com,method=POST,status_class=5xx`]: 4,
  [`${STATIC},host=api.example.com,method=GET,status_class=2xx`]: 1,
  // rollup ["host"]
  [`${STATIC},host=example.com`]: 5,
  [`${STATIC},host=api.example.com`]: 5,
  // rollup []: totals with the static dimensions only
  [STATIC]: 10,
};

const keyOf = (s: PublishedSeries): string => Object.entries(s.dimensions).map(([n, v]) => `${n}=${v}`).sort().join(',');
function sums(series: readonly PublishedSeries[], metric: string, field: 'sum' | 'sampleCount'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of series) if (s.metricName === metric) out[keyOf(s)] = (out[keyOf(s)] ?? 0) + s[field];
  return out;
}
const sortKey = (key: string): string => key.split(',').sort().join(',');
const sorted = (record: Record<string, number>): [string, number][] =>
  Object.entries(record).map(([k, v]): [string, number] => [sortKey(k), v]).sort(([a], [b]) => a.localeCompare(b));

let moto: MotoServer;
let envoy: RunningEnvoy;
let series: PublishedSeries[];

beforeAll(async () => {
  moto = await startMoto();
  const config = devOverlay(loadEnvoyYaml(), {
    cloudwatch: { host: '127.0.0.1', port: moto.port },
    routes: ROUTES,
    receiver: receiverConfig(`127.0.0.1:${moto.port}`, {
      metric_namespace: NAMESPACE,
      dimensions: ['host', 'method', 'status_class'],
      static_dimensions: { cluster: 'prod', service: 'checkout' },
      rollups: [['host'], []],
      request_min_compression_size_bytes: 0,
    }),
    sender: { match_hosts: ['example.com', 'api.example.com'] },
  });
  envoy = await startEnvoy({ config, concurrency: 2, env: ENV, componentLogLevel: 'wasm:debug', waitForLog: ['receiver: configured'] });
  const port = envoy.listenerPort();
  await Promise.all(TRAFFIC.flatMap((t) => Array.from({ length: t.times }, () => sendToFrontEnd(port, t))));
  const { start, end } = queryWindow();
  series = await pollUntil(
    // Exact dimension matching: moto's get_metric_statistics would add the full series into the rollups'.
    () => publishedSeries({ endpoint: moto.endpoint, namespace: NAMESPACE, start, end, exactDimensions: true }),
    (now) => JSON.stringify(sorted(sums(now, 'RequestCount', 'sum'))) === JSON.stringify(sorted(EXPECTED))
      && Object.keys(sums(now, 'RequestLatency', 'sampleCount')).length === Object.keys(EXPECTED).length,
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}, 90_000);

afterAll(async () => {
  await envoy?.stop();
  await moto?.stop();
});

describe('dimensions in real Envoy', () => {
  it('publishes the configured set with status_class and the static dimensions, plus each rollup, with exact sums', () => {
    expect(sorted(sums(series, 'RequestCount', 'sum'))).toEqual(sorted(EXPECTED));
    expect(sorted(sums(series, 'RequestCount', 'sampleCount'))).toEqual(sorted(EXPECTED));
    // Latency for the same dimension sets, one sample per request.
    expect(sorted(sums(series, 'RequestLatency', 'sampleCount'))).toEqual(sorted(EXPECTED));
    // No series lacks the static dimensions; no raw status code anywhere.
    expect(series.every((s) => s.dimensions.cluster === 'prod' && s.dimensions.service === 'checkout')).toBe(true);
    expect(series.some((s) => 'status' in s.dimensions || 'path' in s.dimensions)).toBe(false);
  });

  it('sent every call gzip-compressed (threshold 0), and moto stored them exactly (above)', () => {
    const gzipLines = envoy.logLines('receiver: gzip: ');
    expect(gzipLines.length).toBeGreaterThan(0);
    expect(gzipLines.length).toBe(envoy.logLines('receiver: PutMetricData ok').length);
    expect(envoy.logLines('receiver: configured')[0]).toContain('gzip bodies of 0 bytes or more');
  });

  it('logs the options at start', () => {
    expect(envoy.logLines('receiver: configured')[0]).toContain(
      'dimensions [host, method, status_class] + static {cluster=prod, service=checkout}, rollups [host] []');
  });
});

describe('a static dimension that collides with a built-in name', () => {
  it('stops the receiver at start with an error naming the key and the entry', async () => {
    const config = devOverlay(loadEnvoyYaml(), {
      cloudwatch: { host: '127.0.0.1', port: moto.port },
      receiver: receiverConfig(`127.0.0.1:${moto.port}`, { static_dimensions: { Host: 'x', zone: '' } }),
    });
    const started = startEnvoy({ config, concurrency: 1, env: ENV, readyTimeoutMs: 30_000 });
    await expect(started).rejects.toThrow(/Envoy did not start/);
    const message = await started.catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    expect(message).toContain('invalid configuration: configuration key "static_dimensions" entry "Host": collides with the built-in dimension "host"');
    expect(message).toContain('configuration key "static_dimensions" entry "zone": its value must not be empty');
  });
});
