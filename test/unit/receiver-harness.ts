// A receiver VM on the fake host, driven by hand: queue messages in, ticks at chosen times,
// http_call answers; used by the receiver unit tests and the fleet simulation.

import { createHash } from 'node:crypto';
import { vi } from 'vitest';
import { createDispatcher } from '../../src/sdk/dispatcher.js';
import type { BytesIn } from '../../src/abi/host.js';
import { BufferType, MapType } from '../../src/abi/table.js';
import receiver, { QUEUE_NAME } from '../../src/receiver.js';
import { encodeMessage, type WireSeries } from '../../src/metrics/wire.js';
import { bytes, FakeHost } from './sdk-fake-host.js';

export const ROOT = 1;
export const SECRET = 'wJalrXUtnFEMI-SECRET-KEY';
export const TOKEN = 'SESSION-TOKEN-VALUE';
export const T0_MS = 1_800_000_000_000; // a multiple of 60 s

class ReceiverHost extends FakeHost {
  override sha256(data: BytesIn): ArrayBuffer {
    const digest = createHash('sha256').update(typeof data === 'string' ? data : new Uint8Array(data)).digest();
    return digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.byteLength) as ArrayBuffer;
  }
}

export const BASE_CONFIG = {
  cloud_watch_region: 'us-east-1',
  cloud_watch_cluster_name: 'cloudwatch_api',
  cloud_watch_endpoint: '127.0.0.1:5000',
  publish_interval_millisecond: 60000,
};

export const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

export function series(host: string, count: number, latency: number[] = []): WireSeries {
  return { host, method: 'GET', path: '/', status: '200', count, latency };
}

export function start(
  config: Record<string, unknown>,
  env: string[] = [`ACPW_AWS_ACCESS_KEY_ID=AKIDENV`, `ACPW_AWS_SECRET_ACCESS_KEY=${SECRET}`],
  /** The first Math.random draw (the send offset), or 'random' for the real one. */
  offsetFraction: number | 'random' = 0,
) {
  const host = new ReceiverHost();
  host.environment = env;
  host.timeNs = (T0_MS + 1000) * 1e6;
  host.buffers.set(BufferType.PluginConfiguration, bytes(JSON.stringify(config)));
  const { callbacks } = createDispatcher(receiver, host);
  callbacks['proxy_on_context_create']!(ROOT, 0);
  callbacks['proxy_on_vm_start']!(ROOT, 0);
  // The first Math.random draw at configure is the send offset: 0 keeps sends on the boundaries.
  const random = offsetFraction === 'random' ? undefined : vi.spyOn(Math, 'random').mockReturnValueOnce(offsetFraction);
  const configured = callbacks['proxy_on_configure']!(ROOT, 100);
  random?.mockRestore();
  const queueId = [...host.queues].find(([, q]) => q.vmId === 'self' && q.name === QUEUE_NAME)?.[0];
  const send = (text: string) => {
    host.queues.get(queueId!)!.items.push(bytes(text));
    callbacks['proxy_on_queue_ready']!(ROOT, queueId!);
  };
  const sendSeries = (timeMs: number, ...list: WireSeries[]) => send(encodeMessage({ windowStartMs: timeMs, series: list }));
  const at = async (timeMs: number) => {
    host.timeNs = timeMs * 1e6;
    callbacks['proxy_on_tick']!(ROOT);
    await settle();
  };
  const respond = async (index: number, status: number | undefined, body = '', headers: [string, string][] = []) => {
    const call = host.httpCallRecords[index]!;
    host.headerMaps.set(MapType.HttpCallResponseHeaders, status === undefined ? [] : [[':status', String(status)], ...headers]);
    host.buffers.set(BufferType.HttpCallResponseBody, bytes(body));
    callbacks['proxy_on_http_call_response']!(ROOT, call.token, status === undefined ? 0 : 1 + headers.length, bytes(body).byteLength, 0);
    await settle();
  };
  const counter = (name: string): number | undefined => [...host.metrics.values()].find((m) => m.name === `acpw.receiver.${name}`)?.value;
  const bodyOf = (index: number) => JSON.parse(host.httpCallRecords[index]!.body) as { Namespace: string; MetricData: Record<string, unknown>[] };
  const allLogs = () => host.logs.map(([, line]) => line).join('\n');
  return { host, callbacks, configured, queueId, send, sendSeries, at, respond, counter, bodyOf, allLogs };
}

