// Issue 3 acceptance, happy path, in real Envoy (--concurrency 2): concurrent requests through
// Envoy's listener (built sender.wasm + receiver.wasm from envoy.yaml) reach moto as CloudWatch data that boto3 reads
// back with the right counts per (host, method, path, status); latency is published for the same
// series; a non-matching host is not recorded; the query string never becomes a dimension.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byDimensions, publishedSeries, type PublishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, startE2e, VARIED_ROUTES, type E2e, type FrontEndRequest } from '../support/e2e.js';
import { startMoto, type MotoServer } from '../support/moto.js';

const NAMESPACE = 'AWSCloudWatchProxyWasm-e2e-happy';

/** Requests, how many of each, and the status the routes answer. */
const TRAFFIC: readonly (FrontEndRequest & { times: number; status: number })[] = [
  { host: 'example.com', method: 'GET', path: '/test?x=1&token=secret', times: 3, status: 200 },
  { host: 'example.com', method: 'GET', path: '/test', times: 2, status: 200 },
  { host: 'example.com', method: 'PUT', path: '/test', times: 1, status: 200 },
  { host: 'example.com', method: 'POST', path: '/missing', times: 4, status: 404 },
  { host: 'api.example.com', method: 'GET', path: '/fail?user=42', times: 2, status: 503 },
  { host: 'other.net', method: 'GET', path: '/test', times: 3, status: 200 },
  { host: 'upper.example.org', method: 'GET', path: '/case?q=1', times: 2, status: 200 },
  { host: 'example.com.evil.net', method: 'GET', path: '/test', times: 1, status: 200 },
  { host: 'API.Example.COM', method: 'GET', path: '/mixed', times: 1, status: 200 },
];
const EXPECTED_COUNTS = {
  'example.com|GET|/test|200': 5,
  'example.com|PUT|/test|200': 1,
  'example.com|POST|/missing|404': 4,
  'api.example.com|GET|/fail|503': 2,
  'upper.example.org|GET|/case|200': 2,
  'API.Example.COM|GET|/mixed|200': 1,
};
const RECORDED = 15;

let moto: MotoServer;
let e2e: E2e;
let series: PublishedSeries[];
const statuses: number[] = [];

beforeAll(async () => {
  moto = await startMoto();
  e2e = await startE2e({
    cloudwatch: `127.0.0.1:${moto.port}`,
    routes: VARIED_ROUTES,
    receiver: { metric_namespace: NAMESPACE },
    // Exact, wildcard, and an exact entry in another case (hosts match case-insensitively).
    sender: { match_hosts: ['example.com', '*.example.com', 'UPPER.Example.ORG'] },
  });
  // All at once: Envoy's two workers serve concurrent requests while their sender VMs record
  // them; Promise.all keeps the answers in request order.
  statuses.push(...await Promise.all(TRAFFIC.flatMap((req) => Array.from({ length: req.times }, () => e2e.send(req)))));
  const { start, end } = queryWindow();
  series = await pollUntil(
    () => publishedSeries({ endpoint: moto.endpoint, namespace: NAMESPACE, start, end }),
    (now) => JSON.stringify(sortedKeys(byDimensions(now, 'RequestCount', 'sum'))) === JSON.stringify(sortedKeys(EXPECTED_COUNTS))
      && JSON.stringify(sortedKeys(byDimensions(now, 'RequestLatency', 'sampleCount'))) === JSON.stringify(sortedKeys(EXPECTED_COUNTS)),
    { timeoutMs: 30_000, intervalMs: 500 },
  );
});

afterAll(async () => {
  await e2e?.close();
  await moto?.stop();
});

function sortedKeys(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

describe('happy path: front end → sender → queue → receiver → moto', () => {
  it('answers the routes\' statuses to the clients', () => {
    expect(statuses).toEqual(TRAFFIC.flatMap((req) => Array<number>(req.times).fill(req.status)));
  });

  it('publishes RequestCount with Sum and SampleCount equal to the request count per dimension set', () => {
    expect(sortedKeys(byDimensions(series, 'RequestCount', 'sum'))).toEqual(sortedKeys(EXPECTED_COUNTS));
    expect(sortedKeys(byDimensions(series, 'RequestCount', 'sampleCount'))).toEqual(sortedKeys(EXPECTED_COUNTS));
    for (const s of series.filter((x) => x.metricName === 'RequestCount')) expect(s.units).toEqual(['Count']);
  });

  it('publishes RequestLatency for the same dimension sets, one sample per request', () => {
    expect(sortedKeys(byDimensions(series, 'RequestLatency', 'sampleCount'))).toEqual(sortedKeys(EXPECTED_COUNTS));
    for (const s of series.filter((x) => x.metricName === 'RequestLatency')) {
      expect(s.units).toEqual(['Milliseconds']);
      expect(Object.keys(s.dimensions).sort()).toEqual(['host', 'method', 'path', 'status']);
      expect(s.sum).toBeGreaterThanOrEqual(0);
    }
  });

  it('does not record a host outside match_hosts, and strips query strings from the path', () => {
    const hosts = new Set(series.map((s) => s.dimensions.host));
    expect(hosts).not.toContain('other.net');
    expect(hosts).not.toContain('example.com.evil.net');
    for (const s of series) expect(s.dimensions.path).not.toContain('?');
    expect(series.some((s) => JSON.stringify(s).includes('secret'))).toBe(false);
  });

  it('counts what it did in the plugin counters shown on the admin /stats', async () => {
    expect(await e2e.counter('acpw.sender.requests_recorded')).toBe(RECORDED);
    expect(await e2e.counter('acpw.receiver.datums_published')).toBeGreaterThanOrEqual(2 * Object.keys(EXPECTED_COUNTS).length);
    expect(await e2e.counter('acpw.receiver.put_failures')).toBe(0);
    expect(await e2e.counter('acpw.receiver.messages_malformed')).toBe(0);
    // As an operator sees them: Envoy prefixes plugin metrics with wasmcustom.
    const stats = await e2e.envoy.admin('/stats?filter=acpw');
    expect(stats).toContain(`wasmcustom.acpw.sender.requests_recorded: ${RECORDED}`);
    expect(stats).toMatch(/wasmcustom\.acpw\.receiver\.datums_published: [1-9]/);
  });
});
