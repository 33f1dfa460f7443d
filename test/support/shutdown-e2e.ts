// Helpers shared by the real-Envoy shutdown and timing tests (test/e2e/shutdown.test.ts,
// test/e2e/timing.test.ts): Envoy from envoy.yaml with its CloudWatch cluster on a loopback
// port, a traffic loop that remembers when each request was answered, and a read-back of what
// reached moto.

import { afterAll, beforeAll } from 'vitest';
import { devOverlay, loadEnvoyYaml, startEnvoy, type Bootstrap, type RunningEnvoy } from '../../scripts/lib/envoy.js';
import { DEFAULT_REGION } from './aws.js';
import { metricTotal, publishedSeries, type PublishedSeries } from './cloudwatch-summary.js';
import { pollUntil, queryWindow, sendToFrontEnd, TEST_CREDENTIALS } from './e2e.js';
import { startMoto, type MotoServer } from './moto.js';

/** Envoy takes seconds to compile the modules; on a loaded 2-core machine tens of seconds. */
export const E2E_TIMEOUT_MS = 180_000;

/** One moto for the test file (started in beforeAll, stopped in afterAll). */
export function useMoto(): () => MotoServer {
  let moto: MotoServer | undefined;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });
  return () => {
    if (!moto) throw new Error('moto is not started (useMoto() must be called at the top of the test file)');
    return moto;
  };
}

export const CREDENTIALS_ENV = {
  ACPW_AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  ACPW_AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
};

export interface TestEnvoy {
  readonly envoy: RunningEnvoy;
  readonly config: Bootstrap;
}

/** Real Envoy (2 workers) with `cloudwatch_api` on 127.0.0.1:`port` and the given plugin keys. */
export async function startTestEnvoy(
  port: number,
  receiver: Readonly<Record<string, unknown>>,
  sender: Readonly<Record<string, unknown>> = {},
  options: { readonly args?: readonly string[]; readonly concurrency?: number } = {},
): Promise<TestEnvoy> {
  const config = devOverlay(loadEnvoyYaml(), {
    cloudwatch: { host: '127.0.0.1', port },
    receiver: { cloud_watch_region: DEFAULT_REGION, cloud_watch_endpoint: `127.0.0.1:${port}`, ...receiver },
    sender,
  });
  const envoy = await startEnvoy({
    config,
    concurrency: options.concurrency ?? 2,
    env: CREDENTIALS_ENV,
    waitForLog: ['receiver: configured', 'sender: configured'],
    args: options.args,
  });
  return { envoy, config };
}

/** Requests answered 200, each with the time its answer arrived. */
export interface Traffic {
  readonly answeredAt: number[];
  /** Stops the loop; resolves once the requests in flight have settled. */
  stop(): Promise<void>;
}

/**
 * `concurrency` loops sending GET example.com/`path` until stopped or the listener goes away
 * (connection refused ends a loop). A new connection per request, as sendToFrontEnd does.
 */
export function runTraffic(port: number, path: (i: number) => string, concurrency = 2): Traffic {
  const answeredAt: number[] = [];
  let stopped = false;
  let next = 0;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const status = await sendToFrontEnd(port, { host: 'example.com', path: path(next++) }).catch(() => undefined);
      if (status === undefined) return; // the listener closed
      if (status === 200) answeredAt.push(Date.now());
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    answeredAt,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** What reached moto for the namespace (RequestCount Sum over every series), polled until `expected` or the deadline. */
export async function publishedRequests(
  endpoint: string,
  namespace: string,
  expected: number,
  timeoutMs = 15_000,
): Promise<{ total: number; series: PublishedSeries[] }> {
  const { start, end } = queryWindow(60_000);
  const series = await pollUntil(
    () => publishedSeries({ endpoint, namespace, start, end }),
    (now) => metricTotal(now, 'RequestCount', 'sum') >= expected,
    { timeoutMs, intervalMs: 500 },
  );
  return { total: metricTotal(series, 'RequestCount', 'sum'), series };
}

/** Sends `count` requests (`concurrency` at a time); resolves with how many were answered 200. */
export async function sendMany(port: number, count: number, path: (i: number) => string, concurrency = 4): Promise<number> {
  let next = 0;
  let ok = 0;
  const loop = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      if ((await sendToFrontEnd(port, { host: 'example.com', path: path(i) })) === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return ok;
}
