// The sender benchmark on the local host (host/): the same VMs Envoy-like code runs for tests and
// the demo, driven through its programmatic API (createVm + vm.runStream), synchronously.

import { createVm, HostRuntime, type StreamInput, type Vm } from '../../host/index.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { LogLevel } from '../../src/abi/table.js';
import type { SenderDriver, SenderHandle } from './driver.js';
import type { EncodedHeaders } from './headers.js';

const PSEUDO = [':method', ':path', ':authority', ':scheme'] as const;

/** The host's StreamInput for a request/response pair, built once per pair. */
const inputs = new WeakMap<EncodedHeaders, WeakMap<EncodedHeaders, StreamInput>>();

function streamInput(request: EncodedHeaders, response: EncodedHeaders): StreamInput {
  let byResponse = inputs.get(request);
  if (byResponse === undefined) inputs.set(request, (byResponse = new WeakMap()));
  const cached = byResponse.get(response);
  if (cached !== undefined) return cached;
  const pseudo = new Map<string, string>();
  const headers: string[] = [];
  for (const [k, v] of request.list) {
    if ((PSEUDO as readonly string[]).includes(k)) pseudo.set(k, v);
    else headers.push(k, v);
  }
  let status = 200;
  const responseHeaders: string[] = [];
  for (const [k, v] of response.list) {
    if (k === ':status') status = Number(v);
    else responseHeaders.push(k, v);
  }
  const input: StreamInput = {
    method: pseudo.get(':method') ?? 'GET',
    path: pseudo.get(':path') ?? '/',
    authority: pseudo.get(':authority') ?? 'localhost',
    scheme: pseudo.get(':scheme') ?? 'http',
    headers,
    response: { status, headers: responseHeaders },
  };
  byResponse.set(response, input);
  return input;
}

export const localHostDriver: SenderDriver = {
  hostName: 'local host (host/)',
  createSender(module, spec, receiverVmId, queueName) {
    let errors = 0;
    let lastWarning: string | undefined;
    const runtime = new HostRuntime({
      logLevel: LogLevel.Warn,
      logSink: (entry) => {
        if (entry.level >= LogLevel.Error) errors++;
        lastWarning = entry.message;
      },
    });
    // The receiver's queue, owned by nobody who listens: the benchmark reads it directly.
    const queueId = runtime.sharedQueues.register(receiverVmId, queueName, { contextId: 0, notify: () => {} });
    const vm: Vm = createVm({
      wasm: module as unknown as WasmModule,
      name: spec.rootId,
      vmId: spec.vmId,
      rootId: spec.rootId,
      vmConfiguration: spec.vmConfiguration,
      pluginConfiguration: spec.pluginConfiguration,
      runtime,
    });
    if (vm.state !== 'running') throw new Error(`${spec.vmId}: ${vm.failure ?? 'failed to start'}`);
    const handle: SenderHandle = {
      stream: (request, response) => {
        vm.runStream(streamInput(request, response));
      },
      tick: () => {
        vm.invoke(vm.rootContextId, 'proxy_on_tick', vm.rootContextId);
      },
      drainQueue: () => {
        const items: Uint8Array[] = [];
        for (let item = runtime.sharedQueues.dequeue(queueId); typeof item !== 'number'; item = runtime.sharedQueues.dequeue(queueId)) {
          items.push(item);
        }
        return items;
      },
      get memoryBytes() { return vm.guest.memoryBytes(); },
      get errorCount() { return errors; },
      get lastWarning() { return lastWarning; },
    };
    return handle;
  },
};
