// The differential test: the same scripted traffic through real Envoy and through the local host
// (`npm run host`, the debugging tool) publishes the same datums, so what a developer sees in the
// local host is what Envoy does. The built sender.wasm / receiver.wasm from envoy.yaml in both; a
// recorder (the fault proxy with no faults) in front of moto captures each side's exact
// PutMetricData bodies. Compared per series over all windows (a request may land in a different
// publish window on each side): metric, dimensions, unit, resolution, Sum/SampleCount/Min/Max of
// the count, and the latency's sample count — timestamps and latency values aside. And a call
// that fails (refused, timed out) reaches the receiver as the same answer on both sides (Envoy
// answers it itself; the local host must answer it the same way).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_VARIED_ROUTES, pollUntil, startE2e, startE2eHost, VARIED_ROUTES, type FrontEndRequest } from '../support/e2e.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { freeLoopbackPort, startMoto, type MotoServer } from '../support/moto.js';

const NAMESPACE = 'AWSCloudWatchProxyWasm-e2e-differential';
const SENDER = { match_hosts: ['example.com', '*.example.com'] };

/** Every request is sent `times` times; statuses come from the routes (same on both sides). */
const SCRIPT: readonly (FrontEndRequest & { times: number })[] = [
  { host: 'example.com', method: 'GET', path: '/test?x=1', times: 4 },
  { host: 'example.com', method: 'POST', path: '/test', times: 2 },
  { host: 'example.com', method: 'GET', path: '/missing', times: 3 },
  { host: 'api.example.com', method: 'DELETE', path: '/fail/7', times: 2 },
  { host: 'API.Example.com', method: 'GET', path: '/', times: 1 },
  { host: 'other.net', method: 'GET', path: '/test', times: 5 },
];
const RECORDED = 12; // all but other.net

interface Datum {
  readonly MetricName: string;
  readonly Dimensions: readonly { readonly Name: string; readonly Value: string }[];
  readonly Timestamp?: number;
  readonly Unit?: string;
  readonly StorageResolution?: number;
  readonly StatisticValues?: { readonly Sum: number; readonly SampleCount: number; readonly Minimum: number; readonly Maximum: number };
  readonly Values?: readonly number[];
  readonly Counts?: readonly number[];
}

interface SeriesSummary {
  metric: string;
  dimensions: string;
  unit: string | undefined;
  resolution: number | undefined;
  /** Datum fields present (the shape of what is sent), sorted. */
  fields: string;
  sum?: number;
  sampleCount?: number;
  min?: number;
  max?: number;
  latencySamples?: number;
}

function datumsOf(recorder: FaultProxy): { namespace: string; datum: Datum }[] {
  return recorder.forwarded.flatMap((call) => {
    const body = JSON.parse(call.body) as { Namespace: string; MetricData: Datum[] };
    return body.MetricData.map((datum) => ({ namespace: body.Namespace, datum }));
  });
}

/** Per (namespace, metric, dimensions): what both sides must agree on. */
function summarise(recorder: FaultProxy): SeriesSummary[] {
  const bySeries = new Map<string, SeriesSummary>();
  for (const { namespace, datum } of datumsOf(recorder)) {
    const dimensions = datum.Dimensions.map((d) => `${d.Name}=${d.Value}`).join(',');
    const key = `${namespace}|${datum.MetricName}|${dimensions}`;
    const fields = Object.keys(datum).sort().join(',');
    const summary = bySeries.get(key) ?? { metric: datum.MetricName, dimensions, unit: datum.Unit, resolution: datum.StorageResolution, fields };
    if (datum.StatisticValues) {
      const s = datum.StatisticValues;
      summary.sum = (summary.sum ?? 0) + s.Sum;
      summary.sampleCount = (summary.sampleCount ?? 0) + s.SampleCount;
      summary.min = Math.min(summary.min ?? Infinity, s.Minimum);
      summary.max = Math.max(summary.max ?? -Infinity, s.Maximum);
    }
    if (datum.Counts) summary.latencySamples = (summary.latencySamples ?? 0) + datum.Counts.reduce((a, b) => a + b, 0);
    bySeries.set(key, summary);
  }
  return [...bySeries.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, summary]) => summary);
}

function countedRequests(recorder: FaultProxy): number {
  return datumsOf(recorder).reduce((n, { datum }) => n + (datum.MetricName === 'RequestCount' ? datum.StatisticValues?.Sum ?? 0 : 0), 0);
}

async function runScript(send: (req: FrontEndRequest) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  for (const req of SCRIPT) for (let i = 0; i < req.times; i++) statuses.push(await send(req));
  return statuses;
}

/** Runs the script through one side until its recorder saw every request published; closes it. */
async function recordScript(
  side: { send(req: FrontEndRequest): Promise<number>; close(): Promise<unknown> },
  recorder: FaultProxy,
): Promise<number[]> {
  try {
    const statuses = await runScript((req) => side.send(req));
    await pollUntil(() => countedRequests(recorder), (n) => n >= RECORDED, { timeoutMs: 30_000 });
    return statuses;
  } finally {
    await side.close();
  }
}

let moto: MotoServer;
let envoyRecorder: FaultProxy;
let hostRecorder: FaultProxy;
let envoyStatuses: number[];
let hostStatuses: number[];

beforeAll(async () => {
  moto = await startMoto();
  envoyRecorder = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
  hostRecorder = await startFaultProxy({ host: '127.0.0.1', port: moto.port }, []);
  const receiver = { metric_namespace: NAMESPACE };

  envoyStatuses = await recordScript(
    await startE2e({ cloudwatch: `127.0.0.1:${envoyRecorder.port}`, routes: VARIED_ROUTES, receiver, sender: SENDER }),
    envoyRecorder,
  );
  hostStatuses = await recordScript(
    await startE2eHost({ cloudwatch: `127.0.0.1:${hostRecorder.port}`, routes: LOCAL_VARIED_ROUTES, receiver, sender: SENDER }),
    hostRecorder,
  );
}, 180_000);

afterAll(async () => {
  await envoyRecorder?.close();
  await hostRecorder?.close();
  await moto?.stop();
});

describe('real Envoy and the local host publish the same datums', () => {
  it('both answered the script with the same statuses', () => {
    expect(hostStatuses).toEqual(envoyStatuses);
    expect(new Set(envoyStatuses)).toEqual(new Set([200, 404, 503]));
  });

  it('both recorded every matching request, and moto accepted every call', () => {
    expect(countedRequests(envoyRecorder)).toBe(RECORDED);
    expect(countedRequests(hostRecorder)).toBe(RECORDED);
    for (const call of [...envoyRecorder.forwarded, ...hostRecorder.forwarded]) expect(call.status).toBe(200);
  });

  it('the same series with the same counts, units, resolution and datum shape', () => {
    const envoySide = summarise(envoyRecorder);
    const hostSide = summarise(hostRecorder);
    expect(envoySide.length).toBe(2 * 5); // count + latency for each of the 5 recorded series
    expect(hostSide).toEqual(envoySide);
  });
});

/** The receiver's first "PutMetricData failed (…)" text: the answer as the plugin saw it. */
async function firstFailure(side: { send(req: FrontEndRequest): Promise<number>; logLines(text: string): string[]; close(): Promise<unknown> }): Promise<string> {
  try {
    expect(await side.send({ host: 'example.com', path: '/fail-me' })).toBe(200);
    const lines = await pollUntil(() => side.logLines('PutMetricData failed ('), (l) => l.length > 0, { timeoutMs: 30_000 });
    return /PutMetricData failed \(([^)]*)\)/.exec(lines[0]!)?.[1] ?? lines[0]!;
  } finally {
    await side.close();
  }
}

describe('a failed call reaches the receiver as the same answer in Envoy and the local host', () => {
  it('refused connection: 503 "upstream connect error …", never a call without headers', async () => {
    const closedPort = await freeLoopbackPort();
    const receiver = { metric_namespace: NAMESPACE, max_retries: 0 };
    const [envoySide, hostSide] = await Promise.all([
      startE2e({ cloudwatch: `127.0.0.1:${closedPort}`, receiver }).then(firstFailure),
      startE2eHost({ cloudwatch: `127.0.0.1:${closedPort}`, receiver }).then(firstFailure),
    ]);
    expect(envoySide).toMatch(/^503 HTTP503: upstream connect error or disconnect\/reset before headers\./);
    expect(hostSide).toBe(envoySide);
  }, 60_000);

  it('timeout: 504 "upstream request timeout", answered by Envoy itself', async () => {
    // Each side's calls stall (never forwarded) past a 1 s call timeout.
    const stalls = await Promise.all([0, 1].map(() => startFaultProxy({ host: '127.0.0.1', port: moto.port }, [{ kind: 'stall', ms: 60_000 }])));
    try {
      const receiver = { metric_namespace: NAMESPACE, max_retries: 0, http_request_timeout_millisecond: 1000 };
      const [envoySide, hostSide] = await Promise.all([
        startE2e({ cloudwatch: `127.0.0.1:${stalls[0]!.port}`, receiver }).then(firstFailure),
        startE2eHost({ cloudwatch: `127.0.0.1:${stalls[1]!.port}`, receiver }).then(firstFailure),
      ]);
      expect(envoySide).toBe('504 Timeout: upstream request timeout');
      expect(hostSide).toBe(envoySide);
    } finally {
      await Promise.all(stalls.map((p) => p.close()));
    }
  }, 60_000);
});
