// Modules built with other proxy-wasm SDKs (the benchmark peers: AssemblyScript
// @solo-io/proxy-runtime 0.1.8 speaking ABI 0.2.0, and the Go SDK on wasip1) run unchanged in
// the host: streams, ticks, shared queue. The test builds them itself (test/support/peers.ts), so
// it proves this every run instead of skipping when nobody ran the benchmark; only the Go peer
// is skipped, with the reason, where no Go toolchain exists.

import { beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../host/core/bytes.js';
import { HostRuntime } from '../../host/core/runtime.js';
import { loadWasmModule } from '../../host/guests/wasm.js';
import { createVm } from '../../host/vm-factory.js';
import { buildAssemblyScriptPeer, buildGoPeer, goUnavailableReason } from '../support/peers.js';

const GO_UNAVAILABLE = await goUnavailableReason();

const PEERS: readonly { sdk: string; build: () => Promise<string>; skip?: string }[] = [
  { sdk: 'AssemblyScript (@solo-io/proxy-runtime 0.1.8)', build: buildAssemblyScriptPeer },
  { sdk: 'Go (wasip1)', build: buildGoPeer, ...(GO_UNAVAILABLE ? { skip: GO_UNAVAILABLE } : {}) },
];

describe.each(PEERS)('$sdk SDK sender peer', ({ build, skip }) => {
  let file = '';

  beforeAll(async () => {
    if (!skip) file = await build();
  }, 300_000);

  it.skipIf(skip !== undefined)(`runs streams and ticks, and enqueues aggregates${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const runtime = new HostRuntime({ logSink: () => undefined });
    const messages: string[] = [];
    const queue = runtime.sharedQueues.register('receiver', 'aws_cloudwatch_metric', {
      contextId: 0,
      notify: () => {
        for (let r = runtime.sharedQueues.dequeue(queue); typeof r !== 'number'; r = runtime.sharedQueues.dequeue(queue)) messages.push(fromUtf8(r));
      },
    });
    const vm = createVm({ wasm: loadWasmModule(file), runtime, vmId: 'sender', pluginConfiguration: '{"receiver_vm_id":"receiver","match_hosts":["example.com"]}' });
    expect(vm.state).toBe('running');
    for (const path of ['/a?x=1', '/b', '/a']) expect(vm.runStream({ path, authority: 'example.com' }).status).toBe('complete');
    vm.runStream({ path: '/a', authority: 'other.net' });
    while (messages.length === 0) await new Promise((r) => setTimeout(r, 20)); // the peers flush on a 1 s tick
    const series = JSON.parse(messages[0]!) as { key: string; count: number }[];
    expect(series.map((s) => [s.key, s.count]).sort()).toEqual([['example.com|GET|/a|200', 2], ['example.com|GET|/b|200', 1]]);
    await vm.shutdown(100);
  });
});
