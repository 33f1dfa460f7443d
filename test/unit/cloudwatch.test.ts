import { describe, expect, it } from 'vitest';
import { splitIntoBatches, utf8Length, MAX_DATUMS_PER_CALL } from '../../src/cloudwatch/batches.js';
import { buildDatums } from '../../src/cloudwatch/datums.js';
import { defaultEndpoint } from '../../src/cloudwatch/endpoint.js';
import { planPublish } from '../../src/cloudwatch/publish.js';
import { classifyResponse, parseAwsError, sanitizeErrorCode, type CallResponse } from '../../src/cloudwatch/response.js';
import { backoffDelayMs, RetryQuota } from '../../src/cloudwatch/retry.js';
import { estimateCost, metricCost } from '../../src/cloudwatch/cost.js';
import { bucketValueMs, latencyBucket } from '../../src/metrics/latency.js';
import { Merger } from '../../src/metrics/merger.js';

const WINDOW = 1_700_000_040_000; // a multiple of 60 s
const ALL = ['host', 'method', 'path', 'status'] as const;
const SETTINGS = { namespace: 'AWSCloudWatchProxyWasm', metricName: 'RequestCount', latencyMetricName: 'RequestLatency', dimensions: ALL, storageResolution: 60 as const };

function mergedWindow(series: [string, string, string, string, number, number[]][], dimensions: readonly (typeof ALL)[number][] = ALL) {
  const merger = new Merger(60_000, dimensions, 10_000);
  merger.add({ windowStartMs: WINDOW + 5000, series: series.map(([host, method, path, status, count, latency]) => ({ host, method, path, status, count, latency })) });
  return merger.drain();
}

describe('MetricDatum building', () => {
  it('publishes the count as a statistic set (Sum = SampleCount = requests, Min = Max = 1) and latency as Values/Counts', () => {
    const [window] = mergedWindow([['example.com', 'GET', '/test', '200', 7, [latencyBucket(2), 4, latencyBucket(80), 3]]]);
    const datums = buildDatums(window!, SETTINGS).map((d) => JSON.parse(d) as Record<string, unknown>);
    const dimensions = [
      { Name: 'host', Value: 'example.com' }, { Name: 'method', Value: 'GET' }, { Name: 'path', Value: '/test' }, { Name: 'status', Value: '200' },
    ];
    expect(datums).toEqual([
      {
        MetricName: 'RequestCount', Dimensions: dimensions, Timestamp: WINDOW / 1000,
        StatisticValues: { SampleCount: 7, Sum: 7, Minimum: 1, Maximum: 1 }, Unit: 'Count', StorageResolution: 60,
      },
      {
        MetricName: 'RequestLatency', Dimensions: dimensions, Timestamp: WINDOW / 1000,
        Values: [bucketValueMs(latencyBucket(2)), bucketValueMs(latencyBucket(80))], Counts: [4, 3], Unit: 'Milliseconds', StorageResolution: 60,
      },
    ]);
  });

  it('omits the latency datum of a series without latencies, honours dimension subsets and resolution', () => {
    const [window] = mergedWindow([['a', 'GET', '/', '200', 2, []], ['b', 'GET', '/', '200', 3, []]], ['method']);
    const datums = buildDatums(window!, { ...SETTINGS, dimensions: ['method'], storageResolution: 1 }).map((d) => JSON.parse(d) as Record<string, unknown>);
    expect(datums).toHaveLength(1);
    expect(datums[0]).toMatchObject({ Dimensions: [{ Name: 'method', Value: 'GET' }], StatisticValues: { Sum: 5, SampleCount: 5 }, StorageResolution: 1 });
  });

  it('escapes dimension values as JSON', () => {
    const [window] = mergedWindow([['a', 'GET', '/q"\\', '200', 1, []]]);
    expect((JSON.parse(buildDatums(window!, SETTINGS)[0]!) as { Dimensions: { Value: string }[] }).Dimensions[2]!.Value).toBe('/q"\\');
  });
});

describe('splitting into PutMetricData calls', () => {
  it('puts at most 1000 datums in one call', () => {
    const datums = Array.from({ length: 2500 }, (_, i) => `{"MetricName":"m","Value":${i}}`);
    const batches = splitIntoBatches('ns', datums);
    expect(batches.map((b) => b.datums)).toEqual([1000, 1000, 500]);
    expect(MAX_DATUMS_PER_CALL).toBe(1000);
    const first = JSON.parse(batches[0]!.body) as { Namespace: string; MetricData: { Value: number }[] };
    expect(first.Namespace).toBe('ns');
    expect(first.MetricData[999]!.Value).toBe(999);
    expect((JSON.parse(batches[2]!.body) as { MetricData: unknown[] }).MetricData).toHaveLength(500);
  });

  it('keeps every body under the byte limit and reports exact sizes', () => {
    const big = `{"MetricName":"m","Pad":"${'x'.repeat(9_000)}"}`;
    const batches = splitIntoBatches('ns', Array.from({ length: 300 }, () => big));
    for (const batch of batches) {
      expect(batch.bytes).toBe(Buffer.byteLength(batch.body));
      expect(batch.bytes).toBeLessThanOrEqual(1_000_000);
    }
    expect(batches.reduce((n, b) => n + b.datums, 0)).toBe(300);
    expect(batches.length).toBe(3);
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
  });

  it('plans a 1000-series publish as two calls of valid JSON', () => {
    const series = Array.from({ length: 1000 }, (_, i) => [`h${i}.example.com`, 'GET', `/p/${i}`, '200', 10, [latencyBucket(3), 6, latencyBucket(30), 4]] as [string, string, string, string, number, number[]]);
    const plan = planPublish(mergedWindow(series), SETTINGS);
    expect(plan).toMatchObject({ windows: 1, series: 1000, datums: 2000 });
    expect(plan.batches.map((b) => b.datums)).toEqual([1000, 1000]);
    for (const batch of plan.batches) expect(() => JSON.parse(batch.body)).not.toThrow();
  });
});

describe('endpoint', () => {
  it('uses the region, and the .cn partition for China regions', () => {
    expect(defaultEndpoint('eu-west-1')).toBe('monitoring.eu-west-1.amazonaws.com');
    expect(defaultEndpoint('cn-northwest-1')).toBe('monitoring.cn-northwest-1.amazonaws.com.cn');
  });
});

const response = (status: number | undefined, body = '', extra: [string, string][] = []): CallResponse => ({
  headers: status === undefined ? [] : [[':status', String(status)], ...extra],
  body: () => body,
});

describe('response classification (standard retry mode)', () => {
  it('treats 2xx as success without reading the body', () => {
    let read = false;
    expect(classifyResponse({ headers: [[':status', '200']], body: () => { read = true; return ''; } })).toEqual({ kind: 'success' });
    expect(read).toBe(false);
  });

  it('retries throttling answers', () => {
    expect(classifyResponse(response(400, '{"__type":"com.amazonaws.cloudwatch#Throttling","message":"Rate exceeded"}'))).toEqual({
      kind: 'throttling', code: 'Throttling', message: 'Rate exceeded', status: 400,
    });
    expect(classifyResponse(response(429, '')).kind).toBe('throttling');
    expect(classifyResponse(response(400, '', [['x-amzn-query-error', 'ThrottlingException;Sender']])).kind).toBe('throttling');
  });

  it('retries 5xx, timeouts and missing answers', () => {
    expect(classifyResponse(response(500, '{"__type":"InternalServiceError","message":"boom"}'))).toMatchObject({ kind: 'transient', code: 'InternalServiceError', status: 500 });
    expect(classifyResponse(response(503, 'Service Unavailable'))).toMatchObject({ kind: 'transient', code: 'HTTP503', message: 'Service Unavailable' });
    expect(classifyResponse(response(400, '{"__type":"RequestTimeout"}')).kind).toBe('transient');
    expect(classifyResponse(response(undefined))).toMatchObject({ kind: 'transient', code: 'NoResponse' });
    expect(classifyResponse({ headers: [['content-type', 'x']], body: () => '' })).toMatchObject({ kind: 'transient', code: 'NoStatus' });
  });

  it('does not retry other 4xx and keeps the AWS code and message', () => {
    expect(classifyResponse(response(400, '{"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException","message":"The value  for parameter\\n X is invalid."}', [['x-amzn-query-error', 'InvalidParameterValue;Sender']]))).toEqual({
      kind: 'client_error', code: 'InvalidParameterValue', message: 'The value for parameter X is invalid.', status: 400,
    });
    expect(classifyResponse(response(403, '{"__type":"IncompleteSignature","Message":"bad sig"}'))).toEqual({
      kind: 'client_error', code: 'IncompleteSignature', message: 'bad sig', status: 403,
    });
    expect(classifyResponse(response(404, '', [['x-amzn-ErrorType', 'UnknownOperationException:http://internal']]))).toMatchObject({ code: 'UnknownOperationException' });
  });

  it('reads XML error documents too (auth layers and emulators answer that way)', () => {
    const xml = '<?xml version="1.0"?>\n<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message></Error></Errors></ErrorResponse>';
    expect(classifyResponse(response(403, xml))).toEqual({
      kind: 'client_error', code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match.', status: 403,
    });
  });

  it('sanitises error codes and bounds messages', () => {
    expect(sanitizeErrorCode('aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/')).toBe('FooError');
    expect(parseAwsError(response(400, JSON.stringify({ message: 'x'.repeat(1000) })), 400).message.length).toBeLessThanOrEqual(300);
  });
});

describe('retry timing and quota', () => {
  it('backs off exponentially with full jitter, 100 ms base (500 ms throttled), capped at 20 s', () => {
    expect(backoffDelayMs(1, false, () => 0.999)).toBe(99);
    expect(backoffDelayMs(2, false, () => 0.999)).toBe(199);
    expect(backoffDelayMs(3, false, () => 0.5)).toBe(200);
    expect(backoffDelayMs(1, true, () => 0.999)).toBe(499);
    expect(backoffDelayMs(30, true, () => 0.999)).toBe(19_980);
    expect(backoffDelayMs(3, false, () => 0)).toBe(0);
  });

  it('spends 5 tokens per retry (10 without an answer) out of 500 and refunds on success', () => {
    const quota = new RetryQuota();
    expect(quota.acquire(false)).toBe(5);
    expect(quota.acquire(true)).toBe(10);
    expect(quota.available).toBe(485);
    quota.release(15);
    expect(quota.available).toBe(500);
    quota.release(0);
    expect(quota.available).toBe(500); // capped
    for (let i = 0; i < 100; i++) quota.acquire(false);
    expect(quota.available).toBe(0);
    expect(quota.acquire(false)).toBe(0);
  });
});

describe('cost model', () => {
  it('prices metrics by tier', () => {
    expect(metricCost(0)).toBe(0);
    expect(metricCost(10_000)).toBeCloseTo(3000);
    expect(metricCost(20_000)).toBeCloseTo(3000 + 1000);
  });

  it('counts calls per month from series, Envoys and the interval, against one call per request', () => {
    const estimate = estimateCost({ seriesPerEnvoy: 100, seriesTotal: 100, envoys: 10, publishIntervalMs: 60_000, requestsPerSecond: 1000 });
    expect(estimate.callsPerPublishPerEnvoy).toBe(1);
    expect(estimate.putCallsPerMonth).toBe(10 * 43_200);
    expect(estimate.metrics).toBe(200);
    expect(estimate.apiCostPerMonth).toBeCloseTo(4.32);
    expect(estimate.metricCostPerMonth).toBeCloseTo(60);
    expect(estimate.originalCallsPerMonth).toBe(1000 * 2_592_000);
    expect(estimate.originalApiCostPerMonth).toBeCloseTo(25_920);
    expect(estimateCost({ seriesPerEnvoy: 1200, seriesTotal: 1200, envoys: 1, publishIntervalMs: 1000 }).callsPerPublishPerEnvoy).toBe(3);
  });

  it('counts the extra calls of partial publishing: one per send, two windows in the send crossing a boundary', () => {
    const base = { seriesPerEnvoy: 100, seriesTotal: 100, envoys: 10, publishIntervalMs: 60_000 };
    expect(estimateCost({ ...base, partialPublishIntervalMs: 60_000 }).putCallsPerMonth).toBe(10 * 43_200);
    expect(estimateCost({ ...base, partialPublishIntervalMs: 10_000 }).callsPerWindowPerEnvoy).toBe(6);
    expect(estimateCost({ ...base, partialPublishIntervalMs: 10_000 }).apiCostPerMonth).toBeCloseTo(25.92);
    // 1,000 series: 2,000 datums a window (2 calls), 4,000 in the boundary send (4 calls).
    expect(estimateCost({ ...base, seriesPerEnvoy: 1000, seriesTotal: 1000, partialPublishIntervalMs: 10_000 }).callsPerWindowPerEnvoy).toBe(5 * 2 + 4);
  });
});

