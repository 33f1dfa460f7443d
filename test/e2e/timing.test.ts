// Issue 11 part 2 and issue 9 part 4, in real Envoy: each Envoy draws its own send offset; after
// an outage the held windows go out in as few calls as the limits allow, with exact sums; a call
// that times out after CloudWatch stored it is not retried (no double count) unless asked.

import { describe, expect, it } from 'vitest';
import { metricTotal } from '../support/cloudwatch-summary.js';
import { pollUntil, sleep } from '../support/e2e.js';
import { awsJsonError, startFaultProxy } from '../support/fault-proxy.js';
import { E2E_TIMEOUT_MS, publishedRequests, sendMany, startTestEnvoy, useMoto } from '../support/shutdown-e2e.js';

const moto = useMoto();

describe('publish timing in real Envoy', { timeout: E2E_TIMEOUT_MS }, () => {
  it('two Envoys draw different send offsets inside the interval', async () => {
    const receiver = { metric_namespace: 'AWSCloudWatchProxyWasm-e2e-offsets', publish_interval_millisecond: 3_600_000 };
    const both = await Promise.all([startTestEnvoy(moto().port, receiver, {}, { concurrency: 1 }), startTestEnvoy(moto().port, receiver, {}, { concurrency: 1 })]);
    try {
      const offsets = both.map(({ envoy }) => {
        // The last "configured" line is the serving VM (Envoy configures a canary VM first).
        const line = envoy.logLines('receiver: configured').at(-1) ?? '';
        return Number(/at offset (\d+) ms/.exec(line)?.[1] ?? NaN);
      });
      console.log(`send offsets drawn by two Envoys (interval 3,600,000 ms): ${offsets.join(' ms, ')} ms`);
      for (const offset of offsets) {
        expect(offset).toBeGreaterThanOrEqual(0);
        expect(offset).toBeLessThan(3_600_000);
      }
      expect(offsets[0]).not.toBe(offsets[1]);
    } finally {
      await Promise.all(both.map(({ envoy }) => envoy.stop()));
    }
  });

  // 300 requests keep the test lean; the split at 1,000 datums is unit-tested (receiver.test.ts).
  it('CloudWatch down for 3 windows: recovery sends the held windows in ceil(datums / 1000) call(s), exact sums', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-outage';
    const down = await startFaultProxy(
      { host: '127.0.0.1', port: moto().port },
      Array.from({ length: 500 }, () => awsJsonError(503, 'ServiceUnavailable', 'down for the test')),
    );
    const { envoy } = await startTestEnvoy(
      down.port,
      { metric_namespace: namespace, publish_interval_millisecond: 2000, max_retries: 0 },
      { flush_interval_millisecond: 100 },
    );
    try {
      // 3 windows × 100 distinct paths: 300 series, each a count and a latency datum.
      let sent = 0;
      for (let window = 0; window < 3; window++) {
        sent += await sendMany(envoy.listenerPort(), 100, (i) => `/outage/${window}/${i}`, 8);
        await sleep(2000);
      }
      expect(sent).toBe(300);
      expect(await pollUntil(() => envoy.counter('acpw.receiver.put_failures'), (n) => n >= 3)).toBeGreaterThanOrEqual(3);
      expect(down.passedThrough).toBe(0);
      down.clearFaults();
      const { total } = await publishedRequests(moto().endpoint, namespace, sent);
      await sleep(3000); // nothing more comes
      const calls = down.forwarded.map((call) => (JSON.parse(call.body) as { MetricData: unknown[] }).MetricData.length);
      const datums = calls.reduce((a, b) => a + b, 0);
      console.log(`after the outage: ${datums} datums in ${calls.length} call(s) [${calls.join(', ')}]; ${total} requests in moto`);
      expect(total).toBe(300);
      expect(datums).toBe(600);
      expect(calls).toEqual([600]); // ≥ 3 windows, one call (one per window before the merge)
    } finally {
      await envoy.stop();
      await down.close();
    }
  });
});

describe('a call that times out after CloudWatch stored it (2.5 s answer, 1 s timeout)', { timeout: E2E_TIMEOUT_MS }, () => {
  const slowCalls = () => Array.from({ length: 40 }, () => ({ kind: 'slow' as const, ms: 2500 }));

  it('default (retry_timeouts false): 200 requests arrive as exactly 200; the timed-out calls are counted as given up', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-timeout';
    const slow = await startFaultProxy({ host: '127.0.0.1', port: moto().port }, slowCalls());
    const { envoy } = await startTestEnvoy(
      slow.port,
      { metric_namespace: namespace, publish_interval_millisecond: 1000, http_request_timeout_millisecond: 1000 },
      { flush_interval_millisecond: 100 },
    );
    try {
      expect(await sendMany(envoy.listenerPort(), 200, () => '/timeout')).toBe(200);
      await pollUntil(() => envoy.logLines('not retried (CloudWatch may have stored it').length, (n) => n > 0);
      const { total } = await publishedRequests(moto().endpoint, namespace, 200);
      await sleep(4000); // a retry would have landed by now
      const { series } = await publishedRequests(moto().endpoint, namespace, 200, 0);
      const late = metricTotal(series, 'RequestCount', 'sum');
      console.log(`timeouts not retried: 200 requests → ${total} then ${late} in moto; ${slow.received} call(s), ${await envoy.counter('acpw.receiver.datums_dropped')} datum(s) given up`);
      expect(late).toBe(200);
      expect(await envoy.counter('acpw.receiver.put_retries')).toBe(0);
    } finally {
      await envoy.stop();
      await slow.close();
    }
  });

  it('retry_timeouts true: the retries are stored too (the double count the default avoids)', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-timeout-retry';
    const slow = await startFaultProxy({ host: '127.0.0.1', port: moto().port }, slowCalls());
    const { envoy } = await startTestEnvoy(
      slow.port,
      { metric_namespace: namespace, publish_interval_millisecond: 1000, http_request_timeout_millisecond: 1000, retry_timeouts: true, max_retries: 1 },
      { flush_interval_millisecond: 100 },
    );
    try {
      expect(await sendMany(envoy.listenerPort(), 200, () => '/timeout')).toBe(200);
      const { total } = await publishedRequests(moto().endpoint, namespace, 201, 20_000);
      console.log(`timeouts retried: 200 requests → ${total} in moto (${slow.received} call(s))`);
      expect(total).toBeGreaterThan(200);
    } finally {
      await envoy.stop();
      await slow.close();
    }
  });
});
