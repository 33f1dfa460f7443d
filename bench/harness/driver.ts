// What the sender benchmark needs from a proxy-wasm host, so the same measurements run on the
// bench's mini host or on the local host (host/): a sender VM in a host where the receiver's
// queue exists, one stream at a time, ticks, and a look at what reached the queue.

import type { EncodedHeaders } from './headers.js';
import { MiniHost, type MiniVm, type VmSpec } from './mini-host.js';
import type { CompiledModule } from './wasm-api.js';

export interface SenderHandle {
  /** One full stream: create → request headers → response headers → log → done → delete. */
  stream(request: EncodedHeaders, response: EncodedHeaders): void;
  tick(): void;
  /** Messages the sender enqueued for the receiver since the last drain. */
  drainQueue(): Uint8Array[];
  readonly memoryBytes: number;
  readonly errorCount: number;
  readonly lastWarning: string | undefined;
}

export interface SenderDriver {
  readonly hostName: string;
  /** A started sender VM in a fresh host where `receiverVmId`'s queue `queueName` exists. */
  createSender(module: CompiledModule, spec: VmSpec, receiverVmId: string, queueName: string): SenderHandle;
}

export const miniHostDriver: SenderDriver = {
  hostName: 'bench mini host',
  createSender(module, spec, receiverVmId, queueName) {
    const host = new MiniHost();
    const queueId = host.registerQueue({ spec: { vmId: receiverVmId } } as unknown as MiniVm, queueName);
    const vm = host.createVm(module, spec);
    return {
      stream: (request, response) => vm.stream(request, response),
      tick: () => vm.tick(),
      drainQueue: () => host.drain(queueId),
      get memoryBytes() { return vm.memoryBytes; },
      get errorCount() { return vm.errorCount; },
      get lastWarning() { return vm.warnings.at(-1); },
    };
  },
};
