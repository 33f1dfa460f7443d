// Modules this project did not build (hand-written WAT, ABI 0.2.1 and 0.2.0) run in the host:
// stream lifecycle, header reads/writes, shared queue to a receiver VM, metrics.

import { beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../host/core/bytes.js';
import { HostRuntime, type LogEntry } from '../../host/core/runtime.js';
import { createVm } from '../../host/vm-factory.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { fixtureModule } from './support/wat.js';

let sender: WasmModule;
let receiver: WasmModule;
beforeAll(async () => {
  sender = await fixtureModule('sender-filter.wat');
  receiver = await fixtureModule('receiver-service.wat');
});

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function header(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

describe('hand-written WAT filter and service', () => {
  it('filters streams on two worker VMs and feeds a receiver VM through the shared queue', async () => {
    const logs: LogEntry[] = [];
    const runtime = new HostRuntime({ logSink: (e) => logs.push(e) });
    const service = createVm({ wasm: receiver, runtime, vmId: 'receiver', name: 'receiver' });
    const workers = [0, 1].map((worker) => createVm({ wasm: sender, runtime, vmId: 'sender', name: 'sender', worker }));
    expect([service.state, ...workers.map((w) => w.state)]).toEqual(['running', 'running', 'running']);

    const paths = ['/a', '/b?x=1', '/c'];
    paths.forEach((path, i) => {
      const outcome = workers[i % 2]!.runStream({ path, authority: 'example.com' });
      expect(outcome.status).toBe('complete');
      expect(header(outcome.requestHeaders, 'x-wat-filter')).toBe('seen');
      // request headers are not readable in the response phase (Envoy's per-callback maps)
      expect(header(outcome.responseHeaders, 'x-wat-response')).toBe('unavailable');
      expect(header(outcome.responseHeaders, ':status')).toBe('200');
      expect(fromUtf8(outcome.responseBody)).toBe('OK');
    });

    // proxy_on_queue_ready is delivered asynchronously, never inside the enqueueing callback
    expect(runtime.metrics.get('wat_received')?.value ?? 0).toBe(0);
    await turn();
    await turn();
    expect(runtime.metrics.get('wat_received')?.value).toBe(3);
    expect(logs.filter((l) => l.vmId === 'receiver').map((l) => l.message)).toEqual(paths);
    expect(runtime.metrics.toText()).toContain('wat_requests: 3\n');
    expect(logs.filter((l) => l.message === 'wat filter configured')).toHaveLength(2);
  });

  it('a plugin whose proxy_on_configure returns false fails, and its streams get 503 (fail closed)', () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const vm = createVm({ wasm: sender, runtime, vmId: 'sender', pluginConfiguration: 'fail' });
    expect(vm.state).toBe('failed');
    expect(vm.failure).toMatch(/proxy_on_configure returned false/);
    const outcome = vm.runStream({ path: '/x' });
    expect(header(outcome.responseHeaders, ':status')).toBe('503');
    expect(header(outcome.requestHeaders, 'x-wat-filter')).toBeUndefined();
  });

  it('fail_open skips a failed plugin', () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const vm = createVm({ wasm: sender, runtime, vmId: 'sender', pluginConfiguration: 'fail', failOpen: true });
    const outcome = vm.runStream({ path: '/x' });
    expect(header(outcome.responseHeaders, ':status')).toBe('200');
  });

  it('20k streams keep linear memory bounded (allocations live for one callback)', () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const vm = createVm({ wasm: sender, runtime, vmId: 'sender' });
    for (let i = 0; i < 20_000; i++) vm.runStream({ path: `/p/${i}` });
    expect(vm.guest.memoryBytes()).toBe(65536);
    expect(runtime.metrics.get('wat_requests')?.value).toBe(20_000);
  });
});
