// Issue 9 part 3, in real Envoy: no shutdown crashes Envoy, whatever the receiver holds or is
// doing; the loss of an undrained stop stays within the configured bound; the drain recipe
// loses nothing.
//
// What Envoy allows (docs/configuration.md, "Shutdown"): the receiver's proxy_on_done runs
// after the main dispatcher and the cluster manager are gone, so it sends nothing and says
// what it held; the senders' last aggregates are in the queue by then and are counted too.

import { describe, expect, it } from 'vitest';
import { drainWaitMs, type StopHow } from '../../scripts/lib/envoy.js';
import { pollUntil, sendToFrontEnd, sleep } from '../support/e2e.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { freeLoopbackPort } from '../support/moto.js';
import { E2E_TIMEOUT_MS, publishedRequests, runTraffic, startTestEnvoy, useMoto } from '../support/shutdown-e2e.js';

/** Longest interval the plugins accept: nothing periodic happens during a test. */
const HOUR_MS = 3_600_000;
const NOT_SENT = /receiver: shutting down: (\d+) datum\(s\) not sent \((\d+) call\(s\) in flight abandoned\)/;

const moto = useMoto();

function notSent(log: string): { datums: number; inFlight: number } | undefined {
  const match = NOT_SENT.exec(log);
  return match ? { datums: Number(match[1]), inFlight: Number(match[2]) } : undefined;
}

describe('shutdown in real Envoy', { timeout: E2E_TIMEOUT_MS }, () => {
  it.each<[StopHow, number]>([
    ['SIGTERM', 100],
    ['SIGINT', 100],
    // Sender flush an hour away: only the senders' own proxy_on_done hands the request over.
    ['quitquitquit', HOUR_MS],
  ])('%s with data held: exit 0, and the receiver says what it could not send (sender flush %i ms)', async (how, flushMs) => {
    const { envoy } = await startTestEnvoy(
      moto().port,
      { metric_namespace: `AWSCloudWatchProxyWasm-e2e-stop-${how}`, publish_interval_millisecond: HOUR_MS },
      { flush_interval_millisecond: flushMs },
    );
    try {
      for (let i = 0; i < 3; i++) expect(await sendToListener(envoy.listenerPort())).toBe(200);
      if (flushMs < HOUR_MS) expect(await pollUntil(() => envoy.counter('acpw.sender.requests_recorded'), (n) => n >= 3)).toBe(3);
      else await sleep(300); // the streams have completed (recorded at stream end)
      expect(await envoy.counter('acpw.receiver.put_calls')).toBe(0);
      const exit = await envoy.stop(how);
      expect(exit).toEqual({ code: 0, signal: null });
      // One series: its count and latency datums.
      expect(notSent(envoy.log())).toEqual({ datums: 2, inFlight: 0 });
      expect(envoy.log()).not.toContain('Segmentation fault');
    } finally {
      await envoy.stop();
    }
  });

  it('calls in flight to a CloudWatch that does not answer: SIGTERM exits 0, no call started during shutdown', async () => {
    const stalled = await startFaultProxy({ host: '127.0.0.1', port: moto().port }, Array.from({ length: 8 }, () => ({ kind: 'stall' as const, ms: 60_000 })));
    const { envoy } = await startTestEnvoy(
      stalled.port,
      { metric_namespace: 'AWSCloudWatchProxyWasm-e2e-stop-slow', publish_interval_millisecond: 1000, http_request_timeout_millisecond: 30_000 },
      { flush_interval_millisecond: 100 },
    );
    try {
      expect(await sendToListener(envoy.listenerPort())).toBe(200);
      expect(await pollUntil(() => stalled.received, (n) => n >= 1)).toBeGreaterThanOrEqual(1);
      const exit = await envoy.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      // Envoy resets the stalled call while shutting its cluster manager down and delivers the
      // reset (a 503) after its main loop exited; the receiver starts no retry from there.
      expect(notSent(envoy.log())?.datums).toBeGreaterThanOrEqual(2);
      expect(stalled.received).toBe(1);
    } finally {
      await envoy.stop();
      await stalled.close();
    }
  });

  it('CloudWatch down (connection refused, retrying): /quitquitquit exits 0', async () => {
    const closedPort = await freeLoopbackPort();
    const { envoy } = await startTestEnvoy(
      closedPort,
      { metric_namespace: 'AWSCloudWatchProxyWasm-e2e-stop-down', publish_interval_millisecond: 1000 },
      { flush_interval_millisecond: 100 },
    );
    try {
      expect(await sendToListener(envoy.listenerPort())).toBe(200);
      expect(await pollUntil(() => envoy.counter('acpw.receiver.put_failures'), (n) => n >= 2)).toBeGreaterThanOrEqual(2);
      const exit = await envoy.stop('quitquitquit');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(notSent(envoy.log())?.datums).toBeGreaterThanOrEqual(2);
    } finally {
      await envoy.stop();
    }
  });

  it('an undrained SIGTERM under load loses at most what the last flush + send interval recorded (measured)', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-loss';
    const flushMs = 200;
    const sendEveryMs = 2000;
    const { envoy } = await startTestEnvoy(
      moto().port,
      { metric_namespace: namespace, publish_interval_millisecond: 60_000, partial_publish_interval_millisecond: sendEveryMs },
      { flush_interval_millisecond: flushMs },
    );
    let sent = 0;
    let withinBound = 0;
    try {
      const traffic = runTraffic(envoy.listenerPort(), () => '/loss');
      await sleep(5000);
      await traffic.stop();
      const stoppedAt = Date.now();
      const exit = await envoy.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      sent = traffic.answeredAt.length;
      // The bound: a sender flush + a send interval + one receiver tick + the call (loopback: well under 1 s).
      const boundMs = flushMs + sendEveryMs + 1000 + 1000;
      withinBound = traffic.answeredAt.filter((t) => t > stoppedAt - boundMs).length;
      const { total } = await publishedRequests(moto().endpoint, namespace, sent, 5000);
      const lost = sent - total;
      console.log(`undrained SIGTERM: ${sent} requests answered, ${total} in moto, ${lost} lost; `
        + `bound ${boundMs} ms = ${withinBound} requests answered in the last ${boundMs} ms`);
      expect(total).toBeGreaterThan(0);
      expect(lost).toBeGreaterThanOrEqual(0);
      expect(lost).toBeLessThanOrEqual(withinBound);
    } finally {
      await envoy.stop();
    }
  });

  it('the drain recipe loses nothing: traffic until the listeners close, exact Sum in moto', async () => {
    const namespace = 'AWSCloudWatchProxyWasm-e2e-drain';
    const { envoy, config } = await startTestEnvoy(
      moto().port,
      { metric_namespace: namespace, publish_interval_millisecond: 60_000, partial_publish_interval_millisecond: 2000, http_request_timeout_millisecond: 2000 },
      { flush_interval_millisecond: 200 },
      { args: ['--drain-time-s', '1'] },
    );
    try {
      const traffic = runTraffic(envoy.listenerPort(), (i) => `/drain/${i % 3}`);
      await sleep(2000);
      const waitMs = drainWaitMs(config);
      const started = Date.now();
      // Traffic keeps flowing through the graceful drain period until the listeners close.
      const exit = await envoy.drain({ drainTimeMs: 1000, waitMs, onListenersClosed: () => void traffic.stop() });
      await traffic.stop();
      expect(exit).toEqual({ code: 0, signal: null });
      expect(notSent(envoy.log())).toBeUndefined();
      const sent = traffic.answeredAt.length;
      const { total } = await publishedRequests(moto().endpoint, namespace, sent);
      console.log(`drain recipe: ${sent} requests answered, ${total} in moto; drain 1000 ms + wait ${waitMs} ms (took ${Date.now() - started} ms)`);
      expect(total).toBe(sent);
    } finally {
      await envoy.stop();
    }
  });
});

function sendToListener(port: number): Promise<number> {
  return sendToFrontEnd(port, { host: 'example.com', path: '/held' });
}
