// Issue 3 acceptance, CloudWatch misbehaving: the receiver (built receiver.wasm in real Envoy)
// retries what the AWS SDKs retry, keeps data within its bounds while the endpoint is down and
// delivers it when it comes back, honours its call timeout — each checked through the plugin
// counters, the log, and what finally reached moto.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byDimensions, metricTotal, publishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, startE2e } from '../support/e2e.js';
import { awsJsonError, startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.js';
import { freeLoopbackPort, startMoto, type MotoServer } from '../support/moto.js';

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

function publishedTo(namespace: string) {
  const { start, end } = queryWindow();
  return () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end });
}

describe('CloudWatch faults', () => {
  it('upstream down: retries, then keeps the data within max_buffered_datums and delivers it once the endpoint is back', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-down';
    // Nothing listens there until the endpoint "comes back" (a recorder in front of moto on that port).
    const closedPort = await freeLoopbackPort();
    let comeBack: FaultProxy | undefined;
    const e2e = await startE2e({
      cloudwatch: `127.0.0.1:${closedPort}`,
      receiver: { metric_namespace: namespace, max_retries: 1, max_buffered_datums: 6 },
    });
    try {
      // 5 series = 10 datums against a bound of 6.
      for (let i = 1; i <= 5; i++) expect(await e2e.send({ host: 'example.com', path: `/down/${i}` })).toBe(200);
      await pollUntil(
        () => e2e.logLines('no retries left').length,
        (n) => n > 0,
      );
      expect(await e2e.counter('acpw.receiver.put_retries')).toBeGreaterThan(0);
      expect(await e2e.counter('acpw.receiver.put_failures')).toBeGreaterThan(await e2e.counter('acpw.receiver.put_retries') - 1);
      expect(await e2e.counter('acpw.receiver.datums_published')).toBe(0);
      // Envoy's async client turns a refused connection into its own local reply.
      expect(e2e.logLines('PutMetricData failed (503 HTTP503: upstream connect error').length).toBeGreaterThan(0);
      expect(e2e.logLines('retry 1 of 1').length).toBeGreaterThan(0);
      expect(e2e.logLines('kept for the next publish').length).toBeGreaterThan(0);
      const dropped = await pollUntil(async () => e2e.counter('acpw.receiver.datums_dropped'), (n) => n >= 4);
      expect(dropped).toBe(4);
      expect(e2e.logLines('buffer full').length).toBeGreaterThan(0);

      // The endpoint comes back: what was kept is delivered, nothing more.
      comeBack = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, [], { port: closedPort });
      const published = await pollUntil(async () => e2e.counter('acpw.receiver.datums_published'), (n) => n >= 6);
      expect(published).toBe(6);
      const series = await pollUntil(publishedTo(namespace), (s) => s.length >= 6, { intervalMs: 500 });
      expect(series).toHaveLength(6);
      for (const s of series) expect(s.sampleCount).toBe(1);
      // Count and latency datums are dropped by age, so whole series may survive only in part;
      // every survivor is one of the five requests.
      for (const key of Object.keys(byDimensions(series, 'RequestCount', 'sum'))) expect(key).toMatch(/^example\.com\|GET\|\/down\/[1-5]\|200$/);
    } finally {
      await e2e.close();
      await comeBack?.close();
    }
  });

  it('500s and throttling answers: retried with backoff, then the data arrives exactly once', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-retry';
    const faults: Fault[] = [
      awsJsonError(500, 'InternalServiceError', 'injected 500'),
      awsJsonError(503, 'ServiceUnavailable', 'injected 503'),
      awsJsonError(400, 'ThrottlingException', 'Rate exceeded'),
    ];
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, faults);
    const e2e = await startE2e({ cloudwatch: `127.0.0.1:${proxy.port}`, receiver: { metric_namespace: namespace } });
    try {
      for (let i = 0; i < 3; i++) expect(await e2e.send({ host: 'example.com', path: '/retry' })).toBe(200);
      const series = await pollUntil(publishedTo(namespace), (s) => metricTotal(s, 'RequestCount', 'sum') >= 3, { intervalMs: 500 });
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/retry|200': 3 });
      expect(byDimensions(series, 'RequestLatency', 'sampleCount')).toEqual({ 'example.com|GET|/retry|200': 3 });
      expect(await e2e.counter('acpw.receiver.put_failures')).toBe(3);
      expect(await e2e.counter('acpw.receiver.put_retries')).toBe(3);
      expect(await e2e.counter('acpw.receiver.put_calls')).toBe(proxy.received);
      expect(await e2e.counter('acpw.receiver.datums_dropped')).toBe(0);
      expect(e2e.logLines('PutMetricData failed (500 InternalServiceError: injected 500); retry').length).toBe(1);
      expect(e2e.logLines('PutMetricData failed (503 ServiceUnavailable').length).toBe(1);
      expect(e2e.logLines('PutMetricData failed (400 ThrottlingException: Rate exceeded); retry').length).toBe(1);
      expect(e2e.logLines('not retried')).toEqual([]);
    } finally {
      await e2e.close();
      await proxy.close();
    }
  });

  it('an upstream slower than http_request_timeout_millisecond: the call is abandoned at the timeout and retried', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-slow';
    // Holds the first call far longer than the receiver waits; never forwards it (so Envoy's
    // timeout, not the proxy, ends the call).
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, [{ kind: 'stall', ms: 60_000 }]);
    const e2e = await startE2e({
      cloudwatch: `127.0.0.1:${proxy.port}`,
      // 2 s: long enough for moto on a busy 2-core machine, far shorter than the stall.
      // retry_timeouts: a timed-out call is given up by default (its body was sent: a retry may
      // double count); the stall never forwards, so retrying here cannot.
      receiver: { metric_namespace: namespace, http_request_timeout_millisecond: 2000, retry_timeouts: true },
    });
    try {
      for (let i = 0; i < 2; i++) expect(await e2e.send({ host: 'example.com', path: '/slow' })).toBe(200);
      const series = await pollUntil(publishedTo(namespace), (s) => metricTotal(s, 'RequestCount', 'sum') >= 2, { intervalMs: 500 });
      expect(byDimensions(series, 'RequestCount', 'sum')).toEqual({ 'example.com|GET|/slow|200': 2 });
      // Envoy closed the stalled connection itself (the stall would have lasted a minute).
      expect(proxy.abandoned).toBe(1);
      expect(await e2e.counter('acpw.receiver.put_failures')).toBe(1);
      expect(await e2e.counter('acpw.receiver.put_retries')).toBe(1);
      // Envoy ends the call at the http_call timeout with its own 504 local reply.
      expect(e2e.logLines('PutMetricData failed (504 Timeout: upstream request timeout); retry 1 of').length).toBe(1);
    } finally {
      await e2e.close();
      await proxy.close();
    }
  });
});
