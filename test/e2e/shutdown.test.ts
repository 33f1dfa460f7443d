// Issue 3/6 acceptance, shutdown: closing the host (Envoy draining) makes the receiver publish
// what it holds (proxy_on_done → final publish → proxy_done) and that data reaches moto; and the
// sender hands over what it aggregated since its last tick, so a request made just before the
// close is published too.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byDimensions, publishedSeries } from '../support/cloudwatch-summary.js';
import { pollUntil, queryWindow, sleep, startE2eHost } from '../support/e2e.js';
import { startMoto, type MotoServer } from '../support/moto.js';

/** Longest publish / flush interval the plugins accept: nothing periodic happens during a test. */
const HOUR_MS = 3_600_000;

let moto: MotoServer;

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** Receiver windows are aligned to the epoch: stay clear of an hour boundary so no periodic publish runs. */
async function awayFromHourBoundary(marginMs = 20_000): Promise<void> {
  const untilBoundary = HOUR_MS - (Date.now() % HOUR_MS);
  if (untilBoundary < marginMs) await sleep(untilBoundary + 1000);
}

async function readBack(namespace: string, expected: Record<string, number>): Promise<Record<string, number>> {
  const { start, end } = queryWindow(HOUR_MS);
  const series = await pollUntil(
    () => publishedSeries({ endpoint: moto.endpoint, namespace, start, end }),
    (now) => JSON.stringify(byDimensions(now, 'RequestCount', 'sum')) === JSON.stringify(expected),
    { timeoutMs: 10_000, intervalMs: 500 },
  );
  return byDimensions(series, 'RequestCount', 'sum');
}

describe('shutdown', () => {
  it('the receiver\'s final publish on close delivers what it held', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-final';
    await awayFromHourBoundary();
    const e2e = await startE2eHost({
      cloudwatch: `127.0.0.1:${moto.port}`,
      receiver: { metric_namespace: namespace, publish_interval_millisecond: HOUR_MS },
      sender: { flush_interval_millisecond: 100 },
    });
    let closed = false;
    try {
      for (let i = 0; i < 4; i++) expect(await e2e.send({ host: 'example.com', path: '/final' })).toBe(200);
      // The senders have handed their aggregates to the receiver's queue...
      expect(await pollUntil(() => e2e.counter('acpw.sender.requests_recorded'), (n) => n >= 4)).toBe(4);
      await sleep(50); // ...and the queue delivery (a later event-loop turn) has run.
      // ...but with an hour-long interval the receiver has published nothing yet.
      expect(e2e.counter('acpw.receiver.put_calls')).toBe(0);
      await e2e.close();
      closed = true;
      expect(e2e.counter('acpw.receiver.put_calls')).toBeGreaterThan(0);
      expect(e2e.counter('acpw.receiver.datums_published')).toBe(2);
      expect(e2e.logLines('receiver: final publish complete')).toHaveLength(1);
      expect(await readBack(namespace, { 'example.com|GET|/final|200': 4 })).toEqual({ 'example.com|GET|/final|200': 4 });
    } finally {
      if (!closed) await e2e.close();
    }
  });

  it('a request made just before close arrives (sender flushes at proxy_on_done)', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-lastreq';
    await awayFromHourBoundary();
    const e2e = await startE2eHost({
      cloudwatch: `127.0.0.1:${moto.port}`,
      receiver: { metric_namespace: namespace, publish_interval_millisecond: HOUR_MS },
      // No tick during the test: only the sender's shutdown flush can hand the request over.
      sender: { flush_interval_millisecond: HOUR_MS },
    });
    let closed = false;
    try {
      expect(await e2e.send({ host: 'example.com', path: '/last' })).toBe(200);
      expect(e2e.counter('acpw.sender.requests_recorded')).toBe(0);
      await e2e.close();
      closed = true;
      expect(e2e.counter('acpw.sender.requests_recorded')).toBe(1);
      expect(e2e.counter('acpw.receiver.datums_published')).toBe(2);
      expect(await readBack(namespace, { 'example.com|GET|/last|200': 1 })).toEqual({ 'example.com|GET|/last|200': 1 });
    } finally {
      if (!closed) await e2e.close();
    }
  });
});
