// What the sender benchmark needs from a proxy-wasm host — a sender VM in a host where the
// receiver's queue exists, one stream at a time, ticks, a look at what reached the queue — on
// the local host (host/), the same VMs the tests and the demo run, driven through its
// programmatic API (createVm + vm.runStream), synchronously. Two columns: the host as the demo
// runs it (wall clock, tick timers) and its lean mode (ManualClock, manual ticks), which is
// what the modules cost with as little host overhead as host/ has.

import { createVm, HostRuntime, ManualClock, type Guest, type GuestFactory, type StreamInput, type Vm } from '../../host/index.js';
import type { WasmModule } from '../../host/guests/webassembly.js';
import { LogLevel } from '../../src/abi/table.js';
import type { HeaderList } from './traffic.js';

/** A plugin VM as the benchmark starts it (an Envoy `vm_config` + plugin `configuration`). */
export interface VmSpec {
  readonly vmId: string;
  readonly rootId: string;
  readonly vmConfiguration: string;
  readonly pluginConfiguration: string;
  /** `vm_config.environment_variables.key_values`. */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface SenderHandle {
  /** One full stream: create → request headers → response headers → log → done → delete. */
  stream(request: HeaderList, response: HeaderList): void;
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
  createSender(module: WasmModule, spec: VmSpec, receiverVmId: string, queueName: string): SenderHandle;
}

const PSEUDO = [':method', ':path', ':authority', ':scheme'] as const;

/** The host's StreamInput for a request/response pair, built once per pair. */
const inputs = new WeakMap<HeaderList, WeakMap<HeaderList, StreamInput>>();

export function streamInput(request: HeaderList, response: HeaderList): StreamInput {
  let byResponse = inputs.get(request);
  if (byResponse === undefined) inputs.set(request, (byResponse = new WeakMap()));
  const cached = byResponse.get(response);
  if (cached !== undefined) return cached;
  const pseudo = new Map<string, string>();
  const headers: string[] = [];
  for (const [k, v] of request) {
    if ((PSEUDO as readonly string[]).includes(k)) pseudo.set(k, v);
    else headers.push(k, v);
  }
  let status = 200;
  const responseHeaders: string[] = [];
  for (const [k, v] of response) {
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

/** A started VM on `runtime`; throws when its plugin fails to start. */
export function startVm(runtime: HostRuntime, module: WasmModule, spec: VmSpec, guest?: GuestFactory): Vm {
  const vm = createVm({
    ...(guest !== undefined ? { guest } : { wasm: module }),
    name: spec.rootId,
    vmId: spec.vmId,
    rootId: spec.rootId,
    vmConfiguration: spec.vmConfiguration,
    pluginConfiguration: spec.pluginConfiguration,
    ...(spec.environment !== undefined ? { environment: spec.environment } : {}),
    runtime,
  });
  if (vm.state !== 'running') throw new Error(`${spec.vmId}: ${vm.failure ?? 'failed to start'}`);
  return vm;
}

/** The guest with each named callback timed around its export: ms added into spent[i]. */
export function timedGuest(factory: GuestFactory, names: readonly string[], spent: Float64Array): GuestFactory {
  return (vm): Guest => {
    const guest = factory(vm);
    const callbacks = { ...guest.callbacks };
    names.forEach((name, i) => {
      const fn = callbacks[name];
      if (fn === undefined) return;
      callbacks[name] = (...args: number[]) => {
        const t0 = performance.now();
        const result = fn(...args);
        spent[i]! += performance.now() - t0;
        return result;
      };
    });
    return { ...guest, callbacks };
  };
}

/** Counts error logs and keeps the last warning, as the benchmark's sanity checks read them. */
export class LogWatch {
  errors = 0;
  lastWarning: string | undefined;
  readonly sink = (entry: { level: LogLevel; message: string }): void => {
    if (entry.level >= LogLevel.Error) this.errors++;
    this.lastWarning = entry.message;
  };
}

function hostDriver(hostName: string, lean: boolean): SenderDriver {
  return {
    hostName,
    createSender(module, spec, receiverVmId, queueName) {
      const logs = new LogWatch();
      const runtime = new HostRuntime({
        logLevel: LogLevel.Warn,
        logSink: logs.sink,
        ...(lean ? { clock: new ManualClock(), manualTicks: true } : {}),
      });
      // The receiver's queue, owned by nobody who listens: the benchmark reads it directly.
      const queueId = runtime.sharedQueues.register(receiverVmId, queueName, { contextId: 0, notify: () => {} });
      const vm = startVm(runtime, module, spec);
      return {
        stream: (request, response) => {
          vm.runStream(streamInput(request, response));
        },
        tick: () => vm.tick(),
        drainQueue: () => {
          const items: Uint8Array[] = [];
          for (let item = runtime.sharedQueues.dequeue(queueId); typeof item !== 'number'; item = runtime.sharedQueues.dequeue(queueId)) {
            items.push(item);
          }
          return items;
        },
        get memoryBytes() { return vm.guest.memoryBytes(); },
        get errorCount() { return logs.errors; },
        get lastWarning() { return logs.lastWarning; },
      };
    },
  };
}

/** The local host as `npm run host` runs it: wall clock, tick timers. */
export const localHostDriver: SenderDriver = hostDriver('local host (host/)', false);
/** host/'s lean mode: a ManualClock and ticks only when asked (no timers armed). */
export const leanHostDriver: SenderDriver = hostDriver('local host, lean mode (host/)', true);
