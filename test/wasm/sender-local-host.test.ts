// The built sender.wasm in the local host: per-request recording through the bridge with
// stateless HTTP contexts (only proxy_on_log enters JS), latency from Envoy's `request.time`
// attribute, and the flush of what was aggregated since the last tick when the root context is
// done (proxy_on_done reaches the root through the bridge's root mask, not the streams').

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createVm, HostRuntime, type Vm } from '../../host/index.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import { fromUtf8 } from '../../host/core/bytes.js';
import { LogLevel } from '../../src/abi/table.js';
import { decodeMessage, type WireMessage } from '../../src/metrics/wire.js';
import { repoRoot } from '../fixtures/engine/build-fixture.js';

const SENDER = join(repoRoot, 'sender.wasm');
const QUEUE = 'aws_cloudwatch_metric';

function startSender(): { vm: Vm; messages: () => WireMessage[]; errors: string[] } {
  const errors: string[] = [];
  const runtime = new HostRuntime({
    logLevel: LogLevel.Warn,
    logSink: (entry) => {
      if (entry.level >= LogLevel.Error) errors.push(entry.message);
    },
  });
  const queueId = runtime.sharedQueues.register('receiver', QUEUE, { contextId: 0, notify: () => {} });
  const vm = createVm({
    wasm: loadWasmModule(SENDER), name: 'sender', vmId: 'sender', rootId: 'acpw_sender',
    pluginConfiguration: JSON.stringify({ receiver_vm_id: 'receiver', flush_interval_millisecond: 60_000 }),
    runtime,
  });
  const messages = (): WireMessage[] => {
    const out: WireMessage[] = [];
    for (let item = runtime.sharedQueues.dequeue(queueId); typeof item !== 'number'; item = runtime.sharedQueues.dequeue(queueId)) {
      const decoded = decodeMessage(fromUtf8(item));
      if (!decoded.ok) throw new Error(decoded.reason);
      out.push(decoded.message);
    }
    return out;
  };
  return { vm, messages, errors };
}

const request = (vm: Vm, path: string, status: number): void => {
  vm.runStream({ method: 'GET', path, authority: 'example.com', scheme: 'http', headers: [], response: { status, headers: [] } });
};

describe('sender.wasm in the local host', () => {
  it('is built (npm test builds it first: missing fails, never skips)', () => expect(existsSync(SENDER), `${SENDER} is missing`).toBe(true));
  it('records each stream with a known latency and flushes the aggregate when the root is done', async () => {
    const { vm, messages, errors } = startSender();
    expect(vm.state).toBe('running');
    request(vm, '/a?token=secret', 200);
    request(vm, '/a', 200);
    request(vm, '/b', 404);
    expect(messages()).toEqual([]); // the tick is a minute away
    await vm.shutdown();
    const [message, ...rest] = messages();
    expect(rest).toEqual([]);
    const series = message!.series.map(({ host, method, path, status, count }) => ({ host, method, path, status, count }));
    expect(series).toEqual([
      { host: 'example.com', method: 'GET', path: '/a', status: '200', count: 2 },
      { host: 'example.com', method: 'GET', path: '/b', status: '404', count: 1 },
    ]);
    // request.time was read: every request has a latency bucket (the flat list sums the counts)
    const latencyCounts = message!.series.map((s) => s.latency.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0));
    expect(latencyCounts).toEqual([2, 1]);
    expect(errors).toEqual([]);
  });
});
