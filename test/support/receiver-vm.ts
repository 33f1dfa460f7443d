// The receiver on the local host's lean mode (test/support/plugin-vm.ts), driven by hand: queue
// messages in, ticks at chosen times, http_call answers in any order. Used by the receiver's
// behaviour tests (both ways) and the fleet simulation (in-process).

import { gunzipSync } from 'node:zlib';
import { fromUtf8, utf8 } from '../../host/core/bytes.js';
import type { HttpCallOutcome, Upstream } from '../../host/core/http-client.js';
import type { LogLevel } from '../../src/sdk/index.js';
import receiver, { QUEUE_NAME } from '../../src/receiver.js';
import { encodeMessage, type WireSeries } from '../../src/metrics/wire.js';
import { startPlugin, type PluginMode } from './plugin-vm.js';

export const SECRET = 'wJalrXUtnFEMI-SECRET-KEY';
export const TOKEN = 'SESSION-TOKEN-VALUE';
export const T0_MS = 1_800_000_000_000; // a multiple of 60 s

export const BASE_CONFIG = {
  cloud_watch_region: 'us-east-1',
  cloud_watch_cluster_name: 'cloudwatch_api',
  cloud_watch_endpoint: '127.0.0.1:5000',
  publish_interval_millisecond: 60000,
};

/** Lets async work resume: the plugin's promise jobs (in-process) and the host's later turns. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
};

export function series(host: string, count: number, latency: number[] = []): WireSeries {
  return { host, method: 'GET', path: '/', status: '200', count, latency };
}

interface CallRecord {
  readonly cluster: string;
  readonly headers: string[];
  readonly body: string;
  readonly timeoutMs: number;
  readonly done: (outcome: HttpCallOutcome) => void;
}

export const ENV_CREDENTIALS: Readonly<Record<string, string>> = { ACPW_AWS_ACCESS_KEY_ID: 'AKIDENV', ACPW_AWS_SECRET_ACCESS_KEY: SECRET };

/**
 * The receiver in `mode`: the clock is a ManualClock at T0 + 1 s, ticks run when the test says,
 * and `cloudwatch_api` is an in-memory upstream whose calls the test answers (respond) in any
 * order. `offsetFraction` is the VM's first Math.random draw, at configure: the send offset as
 * a fraction of the partial-publish interval (0: sends on the interval's boundaries), or
 * 'random' for a real draw (the fleet simulation).
 */
export function startReceiver(mode: PluginMode, config: Record<string, unknown>, env: Readonly<Record<string, string>> = ENV_CREDENTIALS, offsetFraction: number | 'random' = 0) {
  const calls: CallRecord[] = [];
  const cloudwatch: Upstream = {
    host: 'in-memory', port: 0,
    handle: (request, done) => {
      // the host has Envoy's `compress` foreign function: large bodies arrive gzipped (gzip.test.ts checks the wire)
      const gzipped = request.headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-encoding' && request.headers[i + 1] === 'gzip');
      const body = fromUtf8(gzipped ? new Uint8Array(gunzipSync(request.body)) : request.body);
      calls.push({ cluster: 'cloudwatch_api', headers: [...request.headers], body, timeoutMs: request.timeoutMs, done });
      return () => undefined;
    },
  };
  const p = startPlugin(mode, { plugin: receiver, wasm: 'receiver.wasm' }, {
    vmId: 'receiver', pluginConfiguration: JSON.stringify(config), environment: env, clusters: { cloudwatch_api: cloudwatch },
    clockStartMs: T0_MS + 1000, ...(offsetFraction === 'random' ? {} : { firstRandom: offsetFraction }),
  });
  const configured = p.vm.state === 'running' ? 1 : 0;
  const queueId = p.runtime.sharedQueues.resolve('receiver', QUEUE_NAME);
  /** Into the queue without a notice (e.g. a sender's last flush, after the last delivery). */
  const enqueue = (text: string) => p.runtime.sharedQueues.enqueue(queueId!, utf8(text));
  const send = (text: string) => {
    enqueue(text);
    p.vm.notify(queueId!, p.vm.rootContextId); // now, as a test would: the host's own notice comes later and finds it drained
  };
  const sendSeries = (timeMs: number, ...list: WireSeries[]) => send(encodeMessage({ windowStartMs: timeMs, series: list }));
  const at = async (timeMs: number) => {
    p.clock.setMs(timeMs);
    p.tick();
    await settle();
  };
  const respond = async (index: number, status: number | undefined, body = '', headers: [string, string][] = []) => {
    const call = calls[index]!;
    if (status === undefined) call.done({ ok: false, reason: 'timeout', detail: 'no answer' });
    else call.done({ ok: true, response: { headers: [':status', String(status), ...headers.flat()], body: utf8(body), trailers: [] } });
    await settle();
  };
  let stopping: Promise<void> | undefined;
  /** Starts the VM's shutdown (proxy_on_done); resolves with what on_done answered. */
  const stop = async (): Promise<number> => {
    stopping ??= p.vm.shutdown(60_000);
    await settle();
    return p.vm.onDoneResult ?? -1;
  };
  /** The cluster goes away: proxy_http_call answers BadArgument (an unknown cluster). */
  const refuseCalls = () => p.runtime.clusters.delete('cloudwatch_api');
  const counter = (name: string): number | undefined => p.counter(`acpw.receiver.${name}`);
  const bodyOf = (index: number) => JSON.parse(calls[index]!.body) as { Namespace: string; MetricData: Record<string, unknown>[] };
  const host = {
    get logs(): [LogLevel, string][] { return p.logs.map((entry) => [entry.level, entry.message]); },
    httpCallRecords: calls,
    get tickPeriod(): number { return p.vm.tickPeriodMs; },
    get doneCalls(): number { return p.vm.doneCalls; },
    /** The host clock now (epoch ms). */
    get nowMs(): number { return p.clock.nowMs(); },
  };
  const allLogs = () => p.logs.map((entry) => entry.message).join('\n');
  return { host, configured, queueId, enqueue, send, sendSeries, at, respond, stop, refuseCalls, counter, bodyOf, allLogs };
}

export type StartedReceiver = ReturnType<typeof startReceiver>;
