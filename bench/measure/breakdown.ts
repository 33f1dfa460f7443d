// Where a request's time goes, per module: µs in each stream callback and the hostcalls (imports)
// the module makes per request, on host/'s lean mode. Each callback is timed around the guest's
// export (its hostcalls included, the host's own work between callbacks not); timing adds a
// little overhead of its own, so these numbers explain the per-request totals rather than
// replace them.

import { HostRuntime, ManualClock } from '../../host/index.js';
import type { GuestFactory, Vm } from '../../host/core/vm.js';
import { wasmGuest, type ImportObserver } from '../../host/guests/wasm.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { LogLevel } from '../../src/abi/table.js';
import { startVm, streamInput, timedGuest } from '../harness/driver.js';
import { REQUESTS, RESPONSE } from '../harness/traffic.js';
import { QUEUE_NAME, RECEIVER_VM_ID, SENDER_SPEC } from './sender-peers.js';

export const PHASES = ['context create', 'request headers', 'response headers', 'log', 'done', 'delete'] as const;
const PHASE_CALLBACKS = ['proxy_on_context_create', 'proxy_on_request_headers', 'proxy_on_response_headers', 'proxy_on_log', 'proxy_on_done', 'proxy_on_delete'];

export interface Breakdown {
  /** µs per request in each phase, in PHASES order. */
  readonly phaseUs: readonly number[];
  /** Imported-function calls per request, by "module.name", most frequent first. */
  readonly importsPerRequest: readonly (readonly [string, number])[];
}

function senderOn(module: WasmModule, guest: (factory: GuestFactory) => GuestFactory, observe?: ImportObserver): Vm {
  const runtime = new HostRuntime({ logLevel: LogLevel.Warn, logSink: () => {}, clock: new ManualClock(), manualTicks: true });
  runtime.sharedQueues.register(RECEIVER_VM_ID, QUEUE_NAME, { contextId: 0, notify: () => {} });
  return startVm(runtime, module, SENDER_SPEC, guest(wasmGuest(module, SENDER_SPEC.rootId, observe)));
}

export function measureBreakdown(module: WasmModule, requests: number): Breakdown {
  const phases = new Float64Array(PHASES.length);
  const warm = senderOn(module, (f) => timedGuest(f, PHASE_CALLBACKS, phases));
  for (let i = 0; i < requests; i++) warm.runStream(streamInput(REQUESTS[i % REQUESTS.length]!, RESPONSE));
  phases.fill(0);
  for (let i = 0; i < requests; i++) warm.runStream(streamInput(REQUESTS[i % REQUESTS.length]!, RESPONSE));

  // Import counts come from a separate VM: counting wraps every import and would skew timing.
  const importCalls = new Map<string, number>();
  const counted = senderOn(module, (f) => f, (ns, name) => {
    const key = `${ns}.${name}`;
    importCalls.set(key, (importCalls.get(key) ?? 0) + 1);
  });
  importCalls.clear();
  const sample = 1000;
  for (let i = 0; i < sample; i++) counted.runStream(streamInput(REQUESTS[i % REQUESTS.length]!, RESPONSE));
  const importsPerRequest = [...importCalls.entries()]
    .map(([name, n]) => [name, n / sample] as const)
    .sort((a, b) => b[1] - a[1]);
  return { phaseUs: [...phases].map((ms) => (ms * 1000) / requests), importsPerRequest };
}
