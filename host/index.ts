// The local proxy-wasm host: programmatic API (tests, benchmarks, demo).
//
// Running the whole thing from an envoy.yaml (what `npm run host` does):
//   startHost(options: HostOptions): Promise<RunningHost>
//     options: { config: string | EnvoyConfig, clusters?: { NAME: 'HOST:PORT' | Upstream },
//                pluginConfig?: { VM_ID: JSON }, workers?: number (2), inProcess?: boolean,
//                listenPort?: number, adminPort?: number (0 = ephemeral), logLevel?, logSink?, env? }
//     → { port, ports, adminPort, runtime, vms, vmsById(id), stats(): string,
//         metric(name): number | undefined, failures, warnings, close(): Promise<void> }
//
// One VM, no network, synchronous (benchmarks, unit tests):
//   const module = loadWasmModule('sender.wasm')            // compile once
//   const vm = createVm({ wasm: module | path | plugin: PluginDefinition, vmId, rootId, name,
//                         pluginConfiguration, vmConfiguration, environment, runtime? })
//     → Vm (started: context create, vm_start, configure; vm.state 'running' | 'failed')
//   vm.runStream({ method, path, authority, scheme, headers, body, trailers,
//                  response: { status, headers, body, trailers } }): StreamOutcome
//     runs context create → request headers → (body, trailers) → response headers → (body)
//     → log → done → delete, synchronously; returns { status, requestHeaders, responseHeaders,
//     responseBody, responseTrailers, localReply? } ('paused' if a filter paused).
//   runStream(vms: Vm | Vm[], input): a chain of filters.
//   vm.guest.memoryBytes(): linear memory size; vm.shutdown(): proxy_on_done → proxy_on_delete.
//   Several VMs share shared data / queues / stats through one `new HostRuntime({...})`
//   passed as `runtime`; `runtime.metrics.toText()` is the /stats text.
//   Queue deliveries (proxy_on_queue_ready), ticks and http_call responses arrive on later
//   event-loop turns, never inside the callback that caused them.

export { ManualClock, WALL_CLOCK, type HostClock } from './core/clock.js';
export { HostRuntime, parseLogLevel, stderrLogSink, type LogEntry, type LogSink, type RuntimeOptions } from './core/runtime.js';
export { Vm, type Guest, type GuestFactory, type PluginSpec, type VmState } from './core/vm.js';
export { HttpStream, directResponse, runStream, type StreamInput, type StreamOutcome, type StreamRequest, type RouteResponse } from './core/stream.js';
export type { Upstream } from './core/http-client.js';
export { createVm, guestFactoryFor, type VmOptions } from './vm-factory.js';
export { loadWasmModule, wasmGuest, checkProxyWasmModule } from './guests/wasm.js';
export { inProcessGuest, loadPluginModule, NodeHost } from './guests/in-process.js';
export { loadEnvoyConfig, parseEnvoyConfig, type EnvoyConfig } from './envoy-config.js';
export { startHost, inProcessSourceFor, type HostOptions, type RunningHost } from './host.js';
