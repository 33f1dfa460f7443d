// Issue 11 part 3 in real Envoy: PutMetricData bodies of 10,240 bytes or more go out gzip
// (Envoy's `compress` foreign function reframed as gzip, CRC-32 in the bridge), signed over the
// compressed bytes. moto 5.2.5 decompresses them and boto3 reads back exact sums for a 1,000+
// datum publish. A recorder between Envoy and moto keeps the bytes as they travelled: the test
// sees the encoding and the ratio, and botocore's signer recomputes each signature over those
// bytes (test/support/sigv4_check.py). moto's own check cannot be used here: with authentication
// enforced it verifies the signature against the decompressed body and so rejects every correctly
// signed gzip request, botocore's own included (moto 5.2.5, the newest release; see
// docs/configuration.md).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devOverlay, loadEnvoyYaml, startEnvoy, type RunningEnvoy } from '../../scripts/lib/envoy.js';
import { join } from 'node:path';
import { byDimensions, metricTotal, publishedSeries, type PublishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, receiverConfig, sendToFrontEnd, TEST_CREDENTIALS } from '../support/e2e.js';
import { startFaultProxy, type FaultProxy, type ForwardedRequest } from '../support/fault-proxy.js';
import { startMoto, type MotoServer } from '../support/moto.js';
import { REPO_ROOT, runPython } from '../support/python.js';
import { DEFAULT_REGION } from '../support/aws.js';

const NAMESPACE = 'AWSCloudWatchProxyWasm-e2e-gzip';
const INTERVAL_MS = 5000;
/** 520 series with latency: 1,040 datums in one window, so one call of 1,000 and one of 40. */
const PATHS = 520;
const CONCURRENCY = 16;

let moto: MotoServer;
let recorder: FaultProxy;
let envoy: RunningEnvoy;
let series: PublishedSeries[];

async function sendAll(port: number, paths: readonly string[]): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      statuses.push(await sendToFrontEnd(port, { host: 'example.com', path }));
    }
  }));
  return statuses;
}

beforeAll(async () => {
  moto = await startMoto();
  recorder = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
  const config = devOverlay(loadEnvoyYaml(), {
    cloudwatch: { host: '127.0.0.1', port: recorder.port },
    receiver: receiverConfig(`127.0.0.1:${recorder.port}`, { metric_namespace: NAMESPACE, publish_interval_millisecond: INTERVAL_MS }),
    sender: { match_hosts: ['example.com'] },
  });
  envoy = await startEnvoy({
    config,
    concurrency: 2,
    componentLogLevel: 'wasm:debug',
    env: { ACPW_AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, ACPW_AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey },
    waitForLog: ['receiver: configured'],
  });
  // Start just after a window boundary so every request lands in one aggregation window.
  await pollUntil(() => Date.now() % INTERVAL_MS, (phase) => phase < 300, { timeoutMs: INTERVAL_MS + 1000, intervalMs: 20 });
  const statuses = await sendAll(envoy.listenerPort(), Array.from({ length: PATHS }, (_, i) => `/item/${i}`));
  expect(statuses.filter((s) => s === 200)).toHaveLength(PATHS);
  await pollUntil(() => envoy.counter('acpw.receiver.datums_published'), (n) => n >= 2 * PATHS, { timeoutMs: 4 * INTERVAL_MS + 10_000, intervalMs: 200 });
  const { start, end } = queryWindow(INTERVAL_MS);
  series = await publishedSeries({ endpoint: moto.endpoint, namespace: NAMESPACE, start, end });
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await recorder?.close();
  await moto?.stop();
});

describe('gzip request bodies in real Envoy', () => {
  it('publishes 1,040 datums with the 1,000-datum call gzip-compressed and accepted by moto', async () => {
    expect(await envoy.counter('acpw.receiver.datums_published')).toBe(2 * PATHS);
    expect(await envoy.counter('acpw.receiver.put_failures')).toBe(0);
    const calls = recorder.forwarded;
    expect(calls.map((c) => c.status)).toEqual(calls.map(() => 200));
    const datumsOf = (body: string): number => (JSON.parse(body) as { MetricData: unknown[] }).MetricData.length;
    const big = calls.find((c) => datumsOf(c.body) === 1000);
    expect(big, `calls: ${calls.map((c) => `${datumsOf(c.body)} datums, ${c.raw.length} bytes, ${c.contentEncoding ?? 'identity'}`).join('; ')}`).toBeDefined();
    expect(big!.contentEncoding).toBe('gzip');
    expect([big!.raw[0], big!.raw[1]]).toEqual([0x1f, 0x8b]);
    const ratio = Buffer.byteLength(big!.body) / big!.raw.length;
    expect(ratio).toBeGreaterThan(5);
    // Compressed from 10,240 bytes on (the 40-datum call is ~11.9 KB: compressed too).
    for (const call of calls) expect(call.contentEncoding).toBe(Buffer.byteLength(call.body) >= 10_240 ? 'gzip' : undefined);
    const line = envoy.logLines('receiver: gzip: ').find((l) => l.includes('1000 datum(s)'));
    expect(line).toBeDefined();
    // The measurement the README quotes: VM-side µs per step for the 1,000-datum body.
    console.log(`[gzip e2e] ${Buffer.byteLength(big!.body)} -> ${big!.raw.length} bytes (ratio ${ratio.toFixed(2)}); ${line!.replace(/^.*receiver: /, '')}`);
  });

  it('signs the compressed bytes: botocore recomputes each signature over the body as it travelled', async () => {
    const gzipCalls = recorder.forwarded.filter((c) => c.contentEncoding === 'gzip');
    expect(gzipCalls.length).toBeGreaterThan(0);
    for (const call of gzipCalls) {
      const check = await botocoreSignature(call);
      expect(check.signedHeaders).toContain('content-encoding');
      expect(check.got).toBe(check.expected);
    }
  });

  it('the data arrives exact: one request per path, Sum = SampleCount = 1 each, latency for each', () => {
    const counts = byDimensions(series, 'RequestCount', 'sum', ['path']);
    expect(Object.keys(counts)).toHaveLength(PATHS);
    expect(Object.values(counts).every((n) => n === 1)).toBe(true);
    expect(metricTotal(series, 'RequestCount', 'sum')).toBe(PATHS);
    expect(metricTotal(series, 'RequestCount', 'sampleCount')).toBe(PATHS);
    expect(metricTotal(series, 'RequestLatency', 'sampleCount')).toBe(PATHS);
    expect(Object.keys(byDimensions(series, 'RequestLatency', 'sampleCount', ['path']))).toHaveLength(PATHS);
  });
});

async function botocoreSignature(call: ForwardedRequest): Promise<{ expected: string; got: string; signedHeaders: string[] }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.headers)) if (typeof value === 'string') headers[name] = value;
  const result = await runPython(join(REPO_ROOT, 'test', 'support', 'sigv4_check.py'), [], JSON.stringify({
    method: 'POST', url: `http://${headers.host}/`, headers, bodyBase64: call.raw.toString('base64'),
    accessKeyId: TEST_CREDENTIALS.accessKeyId, secretAccessKey: TEST_CREDENTIALS.secretAccessKey, region: DEFAULT_REGION, service: 'monitoring',
  }));
  if (result.code !== 0) throw new Error(`sigv4_check.py exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as { expected: string; got: string; signedHeaders: string[] };
}
