import { describe, expect, it } from 'vitest';
import { LogLevel } from '../../src/sdk/index.js';
import { RETRY_TICK_MS, IDLE_TICK_MS } from '../../src/receiver.js';
import { encodeMessage } from '../../src/metrics/wire.js';
import { bucketValueMs } from '../../src/metrics/latency.js';
import { PLUGIN_MODES } from '../support/plugin-vm.js';
// the receiver in a mode, on host/'s lean mode (test/support/receiver-vm.ts)
import { BASE_CONFIG, ENV_CREDENTIALS, SECRET, T0_MS, TOKEN, series, settle, startReceiver as start, type StartedReceiver } from '../support/receiver-vm.js';

describe.each(PLUGIN_MODES)('receiver plugin (%s)', (mode) => {
describe('configuration', () => {
  it('refuses a bad configuration naming the key, never logging secrets', () => {
    const r = start(mode, { ...BASE_CONFIG, storage_resolution: 5, aws_secret_access_key: 42 });
    expect(r.configured).toBe(0);
    const errors = r.host.logs.filter(([level]) => level === LogLevel.Error).map(([, line]) => line);
    expect(errors).toEqual([
      'receiver: invalid configuration: configuration key "aws_secret_access_key" must be a string, got a number',
      'receiver: invalid configuration: configuration key "storage_resolution" must be one of 1, 60 (got 5)',
    ]);
    expect(r.allLogs()).not.toContain(SECRET);
  });

  it('requires credentials from the config or the environment', () => {
    const r = start(mode, BASE_CONFIG, {});
    expect(r.configured).toBe(0);
    expect(r.allLogs()).toContain('"aws_access_key_id" is required');
  });

  it('registers the queue, ticks every second and logs its setup without secrets', () => {
    const r = start(mode, { ...BASE_CONFIG, aws_session_token: TOKEN });
    expect(r.configured).toBe(1);
    expect(r.queueId).toBeDefined();
    expect(r.host.tickPeriod).toBe(IDLE_TICK_MS);
    expect(r.allLogs()).toContain('endpoint 127.0.0.1:5000');
    expect(r.allLogs()).not.toContain(SECRET);
    expect(r.allLogs()).not.toContain(TOKEN);
  });
});

describe('publishing', () => {
  it('merges queue messages and publishes one signed PutMetricData per interval, stamped with the window start', async () => {
    const r = start(mode, { ...BASE_CONFIG, aws_session_token: TOKEN });
    r.sendSeries(T0_MS + 1000, series('a.test', 2, [10, 2]));
    r.sendSeries(T0_MS + 2000, series('a.test', 3, [10, 1, 20, 2]), series('b.test', 1));
    await r.at(T0_MS + 30_000);
    expect(r.host.httpCallRecords).toHaveLength(0); // not before the interval ends
    await r.at(T0_MS + 60_000);
    expect(r.host.httpCallRecords).toHaveLength(1);
    const call = r.host.httpCallRecords[0]!;
    expect(call.cluster).toBe('cloudwatch_api');
    expect(call.timeoutMs).toBe(10000);
    const headers = new Map<string, string>();
    for (let i = 0; i < call.headers.length; i += 2) headers.set(call.headers[i]!, call.headers[i + 1]!);
    expect(headers.get(':method')).toBe('POST');
    expect(headers.get(':path')).toBe('/');
    expect(headers.get(':authority')).toBe('127.0.0.1:5000');
    expect(headers.get('x-amz-target')).toBe('GraniteServiceVersion20100801.PutMetricData');
    expect(headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(headers.get('x-amz-security-token')).toBe(TOKEN);
    expect(headers.get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDENV\/\d{8}\/us-east-1\/monitoring\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/);
    const body = r.bodyOf(0);
    expect(body.Namespace).toBe('AWSCloudWatchProxyWasm');
    expect(body.MetricData).toHaveLength(3);
    expect(body.MetricData[0]).toMatchObject({
      MetricName: 'RequestCount', Timestamp: T0_MS / 1000, Unit: 'Count', StorageResolution: 60,
      StatisticValues: { SampleCount: 5, Sum: 5, Minimum: 1, Maximum: 1 },
      Dimensions: [{ Name: 'host', Value: 'a.test' }, { Name: 'method', Value: 'GET' }, { Name: 'path', Value: '/' }, { Name: 'status', Value: '200' }],
    });
    expect(body.MetricData[1]).toMatchObject({ MetricName: 'RequestLatency', Unit: 'Milliseconds', Values: [bucketValueMs(10), bucketValueMs(20)], Counts: [3, 2] });
    expect(body.MetricData[2]).toMatchObject({ StatisticValues: { Sum: 1 } });
    expect(r.counter('put_calls')).toBe(1);
    expect(r.host.logs.some(([level, line]) => level === LogLevel.Debug && line.startsWith('receiver: publish: 1 window(s), 2 series, 3 datum(s) in 1 call(s)'))).toBe(true);
    await r.respond(0, 200, '{}');
    expect(r.counter('datums_published')).toBe(3);
    expect(r.counter('put_failures')).toBe(0);
    expect(r.allLogs()).not.toContain(SECRET);
    expect(r.allLogs()).not.toContain(TOKEN);
  });

  it('publishes nothing when nothing arrived', async () => {
    const r = start(mode, BASE_CONFIG);
    await r.at(T0_MS + 60_000);
    await r.at(T0_MS + 120_000);
    expect(r.host.httpCallRecords).toHaveLength(0);
  });

  it('counts and logs malformed queue messages and keeps the good ones', async () => {
    const r = start(mode, BASE_CONFIG);
    r.send('{"v":9}');
    r.send('not json');
    r.sendSeries(T0_MS + 1000, series('a.test', 4));
    expect(r.counter('messages_malformed')).toBe(2);
    expect(r.host.logs).toContainEqual([LogLevel.Warn, 'receiver: rejected a malformed queue message: unsupported version 9 (expected 1)']);
    for (let i = 0; i < 20; i++) r.send('[]');
    expect(r.counter('messages_malformed')).toBe(22);
    const malformedLines = () => r.host.logs.filter(([, line]) => line.includes('malformed')).length;
    expect(malformedLines()).toBe(10); // bounded per interval
    await r.at(T0_MS + 60_000);
    r.send('[]');
    expect(malformedLines()).toBe(11); // a new interval logs again
    expect(r.bodyOf(0).MetricData[0]).toMatchObject({ StatisticValues: { Sum: 4 } });
  });

  it('retries 5xx with backoff, keeping the body (and timestamps), and counts it', async () => {
    const r = start(mode, BASE_CONFIG);
    r.sendSeries(T0_MS + 1000, series('a.test', 2));
    await r.at(T0_MS + 60_000);
    await r.respond(0, 500, '{"__type":"InternalServiceError","message":"try later"}');
    expect(r.counter('put_failures')).toBe(1);
    expect(r.counter('put_retries')).toBe(1);
    expect(r.host.tickPeriod).toBe(RETRY_TICK_MS);
    expect(r.host.logs.some(([level, line]) => level === LogLevel.Warn && line.includes('500 InternalServiceError: try later') && line.includes('retry 1 of 3'))).toBe(true);
    await r.at(T0_MS + 60_200); // the first backoff is < 100 ms
    expect(r.host.httpCallRecords).toHaveLength(2);
    expect(r.host.httpCallRecords[1]!.body).toBe(r.host.httpCallRecords[0]!.body);
    await r.respond(1, 200);
    expect(r.counter('datums_published')).toBe(1);
    expect(r.counter('put_calls')).toBe(2);
    await r.at(T0_MS + 60_300);
    expect(r.host.tickPeriod).toBe(IDLE_TICK_MS);
  });

  it('treats a call without an answer (timeout, connection failure) as retryable', async () => {
    const r = start(mode, { ...BASE_CONFIG, max_retries: 1 });
    r.sendSeries(T0_MS + 1000, series('a.test', 2));
    await r.at(T0_MS + 60_000);
    await r.respond(0, undefined);
    await r.at(T0_MS + 60_200);
    await r.respond(1, undefined);
    expect(r.counter('put_failures')).toBe(2);
    expect(r.counter('put_retries')).toBe(1);
    expect(r.counter('datums_dropped')).toBe(0); // kept for the next publish
    await r.at(T0_MS + 120_000);
    expect(r.host.httpCallRecords).toHaveLength(3);
    expect(r.host.httpCallRecords[2]!.body).toBe(r.host.httpCallRecords[0]!.body);
  });

  it('logs a 4xx with the AWS code and message and drops it without retrying', async () => {
    const r = start(mode, BASE_CONFIG);
    r.sendSeries(T0_MS + 1000, series('a.test', 2, [3, 2]));
    await r.at(T0_MS + 60_000);
    await r.respond(0, 400, '{"__type":"com.amazonaws.cloudwatch#InvalidParameterValueException","message":"bad value"}', [['x-amzn-query-error', 'InvalidParameterValue;Sender']]);
    expect(r.host.logs).toContainEqual([LogLevel.Error, 'receiver: PutMetricData failed (400 InvalidParameterValue: bad value); not retried, 2 datum(s) dropped']);
    expect(r.counter('datums_dropped')).toBe(2);
    expect(r.counter('put_retries')).toBe(0);
    await r.at(T0_MS + 61_000);
    expect(r.host.httpCallRecords).toHaveLength(1);
  });

  it('reports a refused http call (unknown cluster) as a failure, not an exception', async () => {
    const r = start(mode, BASE_CONFIG);
    r.sendSeries(T0_MS + 1000, series('a.test', 1));
    r.refuseCalls();
    await r.at(T0_MS + 60_000);
    expect(r.counter('put_calls')).toBe(1);
    expect(r.counter('put_failures')).toBe(1);
    expect(r.allLogs()).toContain('CallNotStarted');
  });

  it('bounds the buffer, dropping the oldest datums first and counting them', async () => {
    const r = start(mode, { ...BASE_CONFIG, max_buffered_datums: 3, max_retries: 0 });
    r.sendSeries(T0_MS + 1000, series('old1', 1), series('old2', 1));
    await r.at(T0_MS + 60_000);
    await r.respond(0, 503); // kept for the next publish
    r.sendSeries(T0_MS + 61_000, series('new1', 1), series('new2', 1));
    expect(r.counter('datums_dropped')).toBe(2); // the two old datums, in a waiting batch
    await r.at(T0_MS + 120_000);
    const bodies = r.host.httpCallRecords.slice(1).map((call) => call.body);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain('new1');
    expect(bodies[0]).not.toContain('old1');
  });

  it('folds series past max_series into _overflow', async () => {
    const r = start(mode, { ...BASE_CONFIG, max_series: 2 });
    r.sendSeries(T0_MS + 1000, series('a', 1), series('b', 1), series('c', 1), series('d', 2));
    await r.at(T0_MS + 60_000);
    const values = r.bodyOf(0).MetricData.map((d) => (d['Dimensions'] as { Value: string }[])[0]!.Value);
    expect(values).toEqual(['a', 'b', '_overflow']);
    expect(r.host.logs.some(([level, line]) => level === LogLevel.Warn && line.includes('2 series went to the _overflow series'))).toBe(true);
  });

  it('splits a large publish into calls of at most 1000 datums', async () => {
    const r = start(mode, BASE_CONFIG);
    const many = Array.from({ length: 1500 }, (_, i) => series(`h${i}`, 1, [5, 1]));
    r.sendSeries(T0_MS + 1000, ...many);
    await r.at(T0_MS + 60_000);
    expect(r.host.httpCallRecords.map((_, i) => r.bodyOf(i).MetricData.length)).toEqual([1000, 1000, 1000]);
  });
});

describe('shutdown', () => {
  it('sends nothing from proxy_on_done, finishes at once, and counts what it held (queue included)', async () => {
    const r = start(mode, BASE_CONFIG);
    r.sendSeries(T0_MS + 1000, series('a.test', 3));
    // A sender's last flush, enqueued after the receiver's last queue delivery.
    r.enqueue(encodeMessage({ windowStartMs: T0_MS + 2000, series: [series('b.test', 1)] }));
    expect(await r.stop()).toBe(1);
    await settle();
    expect(r.host.httpCallRecords).toHaveLength(0);
    expect(r.counter('datums_dropped')).toBe(2);
    expect(r.allLogs()).toContain('receiver: shutting down: 2 datum(s) not sent (0 call(s) in flight abandoned)');
  });

  it('finishes at once when nothing is held, without a warning', async () => {
    const r = start(mode, BASE_CONFIG);
    expect(await r.stop()).toBe(1);
    expect(r.host.httpCallRecords).toHaveLength(0);
    expect(r.allLogs()).not.toContain('shutting down');
  });
});

describe('timing', () => {
  it('sends the current window so far every partial_publish_interval_millisecond, stamped with the window start', async () => {
    const r = start(mode, { ...BASE_CONFIG, partial_publish_interval_millisecond: 10_000 });
    r.sendSeries(T0_MS + 1000, series('a.test', 2));
    await r.at(T0_MS + 10_000);
    expect(r.host.httpCallRecords).toHaveLength(1);
    r.sendSeries(T0_MS + 12_000, series('a.test', 5));
    await r.at(T0_MS + 20_000);
    expect(r.host.httpCallRecords).toHaveLength(2);
    for (const [i, sum] of [[0, 2], [1, 5]] as const) {
      expect(r.bodyOf(i).MetricData[0]).toMatchObject({ Timestamp: T0_MS / 1000, StatisticValues: { Sum: sum } });
    }
  });

  it('sends completed windows at the offset drawn at configure, and logs it', async () => {
    const r = start(mode, BASE_CONFIG, ENV_CREDENTIALS, 0.5); // offset 30 s of 60 s
    expect(r.allLogs()).toContain('sending every 60000 ms at offset 30000 ms');
    r.sendSeries(T0_MS + 1000, series('a.test', 2));
    await r.at(T0_MS + 30_000);
    expect(r.host.httpCallRecords).toHaveLength(0); // the window is still open
    r.sendSeries(T0_MS + 61_000, series('a.test', 7)); // the next window: held back
    await r.at(T0_MS + 89_000);
    expect(r.host.httpCallRecords).toHaveLength(0);
    await r.at(T0_MS + 90_000);
    expect(r.host.httpCallRecords).toHaveLength(1);
    expect(r.bodyOf(0).MetricData).toHaveLength(1);
    expect(r.bodyOf(0).MetricData[0]).toMatchObject({ Timestamp: T0_MS / 1000, StatisticValues: { Sum: 2 } });
    await r.at(T0_MS + 150_000);
    expect(r.bodyOf(1).MetricData[0]).toMatchObject({ Timestamp: (T0_MS + 60_000) / 1000, StatisticValues: { Sum: 7 } });
  });

  it('refuses a partial-publish interval longer than the window', () => {
    const r = start(mode, { ...BASE_CONFIG, partial_publish_interval_millisecond: 120_000 });
    expect(r.configured).toBe(0);
    expect(r.allLogs()).toContain('configuration key "partial_publish_interval_millisecond" must not exceed publish_interval_millisecond (60000), got 120000');
  });

  it('after an outage sends the held windows in ceil(datums / 1000) calls', async () => {
    const r = start(mode, { ...BASE_CONFIG, max_retries: 0 });
    const hosts = Array.from({ length: 450 }, (_, i) => `h${i}.test`);
    let calls = 0;
    for (let w = 0; w < 3; w++) {
      r.sendSeries(T0_MS + w * 60_000 + 1000, ...hosts.map((h) => series(h, 1)));
      await r.at(T0_MS + (w + 1) * 60_000);
      while (calls < r.host.httpCallRecords.length) await r.respond(calls++, 503);
    }
    // 3 windows × 450 datums = 1,350 held; the 4th publish adds nothing new.
    const before = r.host.httpCallRecords.length;
    await r.at(T0_MS + 4 * 60_000);
    const sent = r.host.httpCallRecords.slice(before).map((_, i) => r.bodyOf(before + i).MetricData.length);
    expect(sent).toEqual([1000, 350]);
  });
});

describe('timeouts', () => {
  const timeout = (r: StartedReceiver, index: number) => r.respond(index, 504, 'upstream request timeout');

  it('does not retry a call Envoy timed out (it may be stored), counting its datums as dropped', async () => {
    const r = start(mode, BASE_CONFIG);
    r.sendSeries(T0_MS + 1000, series('a.test', 2));
    await r.at(T0_MS + 60_000);
    await timeout(r, 0);
    await r.at(T0_MS + 61_000);
    await r.at(T0_MS + 120_000);
    expect(r.host.httpCallRecords).toHaveLength(1);
    expect(r.counter('datums_dropped')).toBe(1);
    expect(r.allLogs()).toContain('not retried (CloudWatch may have stored it; retry_timeouts is false), 1 datum(s) given up');
  });

  it('retries it with retry_timeouts: true', async () => {
    const r = start(mode, { ...BASE_CONFIG, retry_timeouts: true });
    r.sendSeries(T0_MS + 1000, series('a.test', 2));
    await r.at(T0_MS + 60_000);
    await timeout(r, 0);
    await r.at(T0_MS + 60_200);
    expect(r.host.httpCallRecords).toHaveLength(2);
    expect(r.host.httpCallRecords[1]!.body).toBe(r.host.httpCallRecords[0]!.body);
  });
});
});
